"""Tables I and II as DataFrames (ours beside the paper's SC09 figures), their CSV files, and reading them back.

How they read as Markdown / HTML (``mean ± std`` cells) is ggan_lib.book.reports.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ggan_lib.io import atomic
from ggan_lib.metrics.train_classifier import HELDOUT_OWN

from ..protocol import ProtocolResult
from .plan import Run
from .results import read_result, resumed_from

# Table I (SC09): model -> (IS, IS std, FID, FID std); None where the paper gives none.
PAPER_TABLE1: dict[str, tuple[float | None, float | None, float | None, float | None]] = {
    "Real (Train Data)": (9.18, 0.04, None, None),
    "Real (Test Data)": (8.01, 0.24, None, None),
    "TiFGAN": (5.97, None, 26.7, None),
    "WaveGAN": (4.67, 0.01, None, None),
    "SpecGAN": (6.03, 0.04, None, None),
    "Supervised BigGAN": (7.33, 0.01, 24.40, 0.5),
    "Unsupervised BigGAN": (6.17, 0.2, 24.72, 0.05),
    "GGAN": (7.24, 0.05, 25.75, 0.1),
}
# Table II (SC09): labelled fraction -> method -> (accuracy %, std %).
PAPER_TABLE2: dict[float, dict[str, tuple[float, float | None]]] = {
    0.01: {"CNN": (82, 1.2), "Unsupervised GAN": (73, 1.02), "GGAN": (84, 2.24)},
    0.02: {"CNN": (83, 0.34), "Unsupervised GAN": (75, 0.41), "GGAN": (85, 1.24)},
    0.03: {"CNN": (83, 0.23), "Unsupervised GAN": (78, 0.07), "GGAN": (88, 0.1)},
    0.04: {"CNN": (84, 0.34), "Unsupervised GAN": (80, 0.01), "GGAN": (91, 0.5)},
    0.05: {"CNN": (84, 1.02), "Unsupervised GAN": (80, 1.72), "GGAN": (92, 0.87)},
    1.0: {"CNN": (96.2, None)},
}
TABLE2_METHODS = ("CNN", "Unsupervised GAN", "GGAN")


def fraction_label(fraction: float | None) -> str:
    """A labelled fraction as the book's tables, figures and widgets name it: 0.05 -> '5 %' (None -> 'unknown')."""
    return "unknown" if fraction is None else f"{100 * float(fraction):g} %"


def label_fraction(label: str) -> float:
    """The fraction a :func:`fraction_label` names ('5 %' -> 0.05): the key to sort labels by."""
    return float(label.split()[0]) / 100


JUDGE_ROW = "Judge (held-out speaker)"  # Table I's last row when the metric classifier never heard a speaker


def _metrics(out: Path, name: str) -> dict[str, Any] | None:
    """metrics of runs/<name>/result.json, or None."""
    res = read_result(out / "runs" / name)
    return None if res is None else res.get("metrics")


def table1(out: Path, runs: list[Run]):
    """Table I as a DataFrame: our IS / FID beside the paper's, one row per model (paper-only rows too)."""
    import pandas as pd
    ev = {r.params["kind"]: _metrics(out, r.name) for r in runs if r.notebook == "evaluate"}
    real = next((m for m in ev.values() if m), None) or {}
    ours = {"Real (Train Data)": real.get("real_train"), "Real (Test Data)": real.get("real_test"),
            "Supervised BigGAN": (ev.get("supervised_biggan") or {}).get("generated"),
            "Unsupervised BigGAN": (ev.get("unsupervised_biggan") or {}).get("generated"),
            "GGAN": (ev.get("ggan") or {}).get("generated")}
    judge = real.get("judge") or {}
    if judge.get("heldout_speakers"):  # how far to trust the judge: a speaker it never heard
        own = judge.get("heldout_of", HELDOUT_OWN) == HELDOUT_OWN
        who = "the metric classifier" if own else judge["heldout_of"]  # else its recipe's (a sibling's) figure
        ours[JUDGE_ROW] = {"heard_as_label": judge["heldout_raw"], "heard_as_label_roundtrip": judge["heldout_roundtrip"],
                           "note": f"{who}, on every clip of " + ", ".join(judge["heldout_speakers"])}
    rows = []
    for model, (p_is, p_is_std, p_fid, p_fid_std) in {**PAPER_TABLE1, JUDGE_ROW: (None,) * 4}.items():
        if model == JUDGE_ROW and model not in ours:
            continue
        m = ours.get(model) or {}
        rows.append({"model": model, "is_mean": m.get("is"), "is_std": m.get("is_std"),
                     "paper_is_mean": p_is, "paper_is_std": p_is_std,
                     "fid": m.get("fid"),  # vs round-trip real train audio; real train: NaN (the reference)
                     "fid_raw": m.get("fid_raw"),  # vs raw real train audio (mostly the front end)
                     "is_roundtrip": m.get("is_roundtrip"),  # real rows: IS after the round trip
                     # how often the metric classifier hears a clip as its digit: real rows their label
                     # (raw, and after the round trip), generated rows their code (NaN: no code / not measured)
                     "heard_as": m.get("heard_as_label", m.get("heard_as_code")),
                     "heard_as_roundtrip": m.get("heard_as_label_roundtrip"),
                     "paper_fid_mean": p_fid, "paper_fid_std": p_fid_std, "note": m.get("note", "")})
    return pd.DataFrame(rows)


def table2_rows(out: Path, runs: list[Run]) -> list[dict[str, Any]]:
    """Every (method, fraction, draw, accuracy) row of the Table II runs' results."""
    rows = []
    for r in runs:
        m = _metrics(out, r.name)
        if m:
            rows += m.get("rows", [])
    return rows


def _table2_row(f: float, summ: dict) -> dict[str, Any]:
    """One fraction's Table II row: mean / std / n (%) per method beside the paper's."""
    row: dict[str, Any] = {"fraction": f}
    for meth in TABLE2_METHODS:
        s = summ.get((meth, f))
        paper = PAPER_TABLE2.get(round(f, 4), {}).get(meth, (None, None))
        row.update({f"{meth} mean": None if s is None else 100 * s["mean"],
                    f"{meth} std": None if s is None else 100 * s["std"],
                    f"{meth} n": 0 if s is None else s["n"],
                    f"{meth} paper mean": paper[0], f"{meth} paper std": paper[1]})
    return row


def table2(out: Path, runs: list[Run]):
    """Table II as a DataFrame: per fraction, mean / std / n accuracy (%) per method beside the paper's."""
    return table2_of_rows(table2_rows(out, runs), runs)


def pooled_table2(parts: list[tuple[Path, list[Run]]]):
    """Table II over several results folders (one per held-out speaker): every draw of every fold pooled."""
    rows = [row for out, runs in parts for row in table2_rows(out, runs)]
    return table2_of_rows(rows, [r for _, runs in parts for r in runs])


def table2_of_rows(rows: list[dict[str, Any]], runs: list[Run]):
    """Table II of protocol rows; every fraction the runs plan keeps its row (empty until its runs finish)."""
    import pandas as pd
    summ = {(s["method"], s["fraction"]): s for s in ProtocolResult(rows).summary()}
    planned = {r.params["fraction"] for r in runs if "fraction" in r.params}
    planned |= {f for r in runs for f in r.params.get("fractions", [])}
    fractions = sorted(planned | {f for _, f in summ})  # a planned row stays (empty) until its runs finish
    return pd.DataFrame([_table2_row(f, summ) for f in fractions])


# the parameters that set a run's budget: iterations / steps of each part (Table II's unit: generator updates),
# the metric classifier's epochs, an evaluation's generated clips (ggan_lib.book.reports._budget reads the same)
BUDGET_PARAMS = ("iters", "gan_iters", "enc_iters", "cnn_iters", "clf_iters", "epochs", "n_clips")


def runs_table(out: Path, runs: list[Run], **columns: Any):
    """One row per planned run: what it is (notebook, fraction(s), draw(s)), its budget (BUDGET_PARAMS), and
    from its result.json whether it finished, when, its wall and CPU seconds (of the invocation that finished it:
    a GGAN run continued from its checkpoint counts from iteration ``resumed_from``); ``columns``: constant columns
    (e.g. the held-out speaker of a fold). Written as table{1,2}_runs.csv beside the table (ggan_lib.book.reports
    .write_table)."""
    import pandas as pd
    rows = []
    for r in runs:
        res = read_result(Path(out) / "runs" / r.name) or {}
        p = r.params
        fractions = p.get("fractions", [p["fraction"]] if "fraction" in p else [])
        rows.append({**columns, "run": r.name, "notebook": r.notebook, "method": p.get("method", r.notebook),
                     "fractions": " ".join(f"{f:g}" for f in fractions),
                     "draws": p.get("draws", p.get("draw", "")),
                     "budget": " ".join(f"{k}={p[k]}" for k in BUDGET_PARAMS if p.get(k)),
                     "finished": res.get("finished", ""), "wall_s": res.get("wall_s"), "cpu_s": res.get("cpu_s"),
                     "resumed_from": resumed_from(res)})
    return pd.DataFrame(rows)


def write_runs_csv(out: Path, table: int, df) -> Path:
    """out/table{1,2}_runs.csv of a :func:`runs_table` DataFrame (atomically)."""
    return atomic.write_text(Path(out) / f"table{table}_runs.csv", df.to_csv(index=False))


def build_table(out: Path, table: int, runs: list[Run]):
    """Table I or II of the runs' results as a DataFrame."""
    return table1(out, runs) if table == 1 else table2(out, runs)


def write_csv(out: Path, table: int, df) -> Path:
    """out/table{1,2}.csv of a build_table DataFrame (atomically; the .md beside it: book.reports.write_table)."""
    return atomic.write_text(Path(out) / f"table{table}.csv", df.to_csv(index=False))


def load_table(out: str | os.PathLike, table: int, *, missing: str = "none"):
    """out/table{1,2}.csv as a DataFrame (what the runner wrote), e.g. load_table("results/fsdd-small", 2).

    When the file is absent (the batch has not finished, or never ran): missing='none' prints a note
    saying which file and how to make it and returns None; missing='raise' raises FileNotFoundError.
    """
    import pandas as pd
    if table not in (1, 2):
        raise ValueError(f"table must be 1 or 2, got {table!r}")
    if missing not in ("none", "raise"):
        raise ValueError(f"missing must be 'none' or 'raise', got {missing!r}")
    path = Path(out) / f"table{table}.csv"
    if not path.is_file():
        msg = (f"{path} does not exist yet: the runner writes it when a batch finishes "
               f"(python -m ggan_lib.cli.reproduce --table {table} --out {Path(out)} ...)")
        if missing == "raise":
            raise FileNotFoundError(msg)
        print(f"Note: {msg}")
        return None
    df = pd.read_csv(path)
    if "note" in df.columns:  # an empty note reads back as NaN
        df["note"] = df["note"].astype(object).fillna("")
    return df
