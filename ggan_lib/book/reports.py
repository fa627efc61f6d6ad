"""Tables I and II for reading: ``mean ± std`` text cells, ours beside the paper's, as DataFrames and Markdown.

The numbers are ggan_lib.experiments.reproduce.tables (``table1`` / ``table2`` / ``load_table``);
:func:`write_table` writes a results folder's ``table{1,2}.csv`` and ``.md`` (what the runner leaves).
"""
from __future__ import annotations

import math
from pathlib import Path

from ggan_lib.experiments.reproduce.manifest import read_manifest
from ggan_lib.experiments.reproduce.plan import Run
from ggan_lib.experiments.reproduce.results import read_result, resumed_from
from ggan_lib.experiments.reproduce.tables import (
    TABLE2_METHODS,
    build_table,
    fraction_label,
    runs_table,
    write_csv,
    write_runs_csv,
)
from ggan_lib.io import atomic

TABLE_TITLES = {1: "Table I: IS / FID of generated audio (PGHI), project classifier",
                2: "Table II: test accuracy (%) by labelled fraction, mean ± std over draws"}
TABLE1_NOTE = ("FID (round trip): against real training clips sent through the same spectrogram + PGHI round "
               "trip as the generated ones (the primary figure); FID (raw): against the untouched recordings, "
               "which mostly measures the front end (digital silence, level, resolution).")


def _missing(v) -> bool:
    """No value in a table cell: None or a float NaN (pandas gives NaN where a result lacks a figure)."""
    return v is None or (isinstance(v, float) and math.isnan(v))


def _pm(mean: float | None, std: float | None, digits: int = 2) -> str:
    """'7.24 ± 0.05', '7.24' or '' for Markdown cells."""
    if _missing(mean):
        return ""
    if _missing(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def table1_frame(df):
    """Table I for reading: 'mean ± std' text cells, ours beside the paper's (display() shows it as a table)."""
    import pandas as pd
    return pd.DataFrame({"Model": df["model"],
                         "IS (ours)": [_pm(a, b) for a, b in zip(df["is_mean"], df["is_std"])],
                         "IS (paper, SC09)": [_pm(a, b) for a, b in zip(df["paper_is_mean"], df["paper_is_std"])],
                         "FID (ours, round trip)": [_pm(a, None) for a in df["fid"]],
                         "FID (ours, raw)": [_pm(a, None) for a in df["fid_raw"]],
                         "FID (paper, SC09)": [_pm(a, b) for a, b in zip(df["paper_fid_mean"], df["paper_fid_std"])],
                         "heard as its digit (%)": [_heard(a, b) for a, b in
                                                    zip(_col(df, "heard_as"), _col(df, "heard_as_roundtrip"))],
                         "note": df["note"]})


def _col(df, name: str) -> list:
    """A column of df, or None per row for a table written before the column existed."""
    return list(df[name]) if name in df else [None] * len(df)


def _heard(frac: float | None, frac_roundtrip: float | None) -> str:
    """'93.2' (generated: heard as its code), '95.6 (round trip 93.2)' (real: heard as its label), or ''."""
    if _missing(frac):
        return ""
    rt = "" if _missing(frac_roundtrip) else f" (round trip {100 * frac_roundtrip:.1f})"
    return f"{100 * frac:.1f}{rt}"


def table1_markdown(df) -> str:
    """Table I as Markdown with 'mean ± std' cells (table1_frame's text)."""
    return table1_frame(df).to_markdown(index=False, disable_numparse=True)  # keep '0.00', not tabulate's '0'


def table2_frame(df):
    """Table II for reading: 'Training data size' then, per method, ours and the paper's (SC09) side by side,
    as text cells (display() shows it as a table)."""
    import pandas as pd
    cols = {"Training data size": [fraction_label(f) for f in df["fraction"]]}
    for meth in TABLE2_METHODS:
        cols[f"{meth} (ours, n)"] = [f"{_pm(a, b, 1)} (n={n})" if n else "" for a, b, n in
                                     zip(df[f"{meth} mean"], df[f"{meth} std"], df[f"{meth} n"])]
        cols[f"{meth} (paper, SC09)"] = [_pm(a, b, 2) for a, b in zip(df[f"{meth} paper mean"],
                                                                      df[f"{meth} paper std"])]
    return pd.DataFrame(cols)


def table2_markdown(df) -> str:
    """Table II as Markdown (table2_frame's text)."""
    return table2_frame(df).to_markdown(index=False, disable_numparse=True)


def write_markdown(out: str | Path, table: int, df) -> Path:
    """out/table{1,2}.md of a Table I / II DataFrame (reproduce.build_table or load_table), atomically."""
    md = table1_markdown(df) if table == 1 else table2_markdown(df)
    note = f"\n{TABLE1_NOTE}\n" if table == 1 else ""
    return atomic.write_text(Path(out) / f"table{table}.md", f"# {TABLE_TITLES[table]}\n\n{md}\n{note}")


def write_table(out: str | Path, table: int, runs: list[Run]) -> tuple[Path, Path]:
    """out/table{1,2}.csv and .md of the runs' results, and table{1,2}_runs.csv (every run's budget and time),
    atomically."""
    df = build_table(Path(out), table, runs)
    write_runs_csv(out, table, runs_table(Path(out), runs))
    return write_csv(out, table, df), write_markdown(out, table, df)


# --------------------------------------------------------------------------- recorded benchmark tables
def markdown_tables(text: str) -> list[tuple[str, object]]:
    """Every pipe table of a Markdown text as (the non-empty line above it, DataFrame of text cells)."""
    import pandas as pd

    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and set(lines[i + 1].replace("|", "").strip()) <= set("-: "):
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines[i:j]]
            above = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip() and not ln.startswith("```")), "")
            out.append((above, pd.DataFrame(cells[2:], columns=cells[0])))
            i = j
        else:
            i += 1
    return out


def recorded_benchmark(readme: str, section: str, first_column: str):
    """The last table of ``## section`` in benchmarks/README.md whose first column is ``first_column``:
    (the line printed above it, the DataFrame, the 'Machine:' description of that section or '')."""
    import re

    body = readme.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    tables = [(above, df) for above, df in markdown_tables(body) if df.columns[0] == first_column]
    if not tables:
        raise ValueError(f"benchmarks/README.md, ## {section}: no table starting with {first_column!r}")
    machine = re.search(r"Machine: ([^(,;]+)", body)
    return tables[-1][0], tables[-1][1], machine.group(1).strip() if machine else ""


# --------------------------------------------------------------------------- the runner's plan, for reading
_KINDS = {"cnn": "CNN baseline", "unsupervised": "unsupervised BigGAN + ALI encoder", "supervised": "supervised BigGAN"}


def _run_kind(run: Run) -> str:
    """What a planned run trains or measures, in words."""
    if run.notebook == "train_ggan":
        return "GGAN, one per fraction × draw"
    if run.notebook == "train_baseline":
        return _KINDS.get(run.params.get("method"), str(run.params.get("method")))
    if run.notebook == "evaluate":
        return "IS / FID evaluation"
    return run.notebook.removeprefix("train_").replace("_", " ")


def _budget(run: Run) -> str:
    """A planned run's size: iterations, steps, epochs or clips."""
    p = run.params
    if run.notebook == "train_ggan":
        return f"{p['iters']:,} iterations"
    if p.get("method") == "cnn":
        return f"{p.get('cnn_iters', 0):,} steps"
    if p.get("method") in ("unsupervised", "supervised"):
        enc = f" + {p['enc_iters']:,} encoder steps" if p.get("enc_iters") else ""
        return f"{p.get('gan_iters', 0):,} G steps{enc}"
    if "epochs" in p:
        return f"{p['epochs']} epochs"
    return f"{p['n_clips']:,} generated clips" if "n_clips" in p else ""


def plan_frame(plans: dict[int, list[Run]]):
    """The runner's plans (table -> runs, as reproduce.plan makes them) as one row per kind of run."""
    import pandas as pd

    rows = []
    for table, runs in plans.items():
        groups: dict[tuple, list[Run]] = {}
        for r in runs:
            groups.setdefault((r.notebook, _run_kind(r), _budget(r)), []).append(r)
        for (nb, kind, budget), rs in groups.items():
            rows.append({"table": f"Table {'I' * table}", "notebook": f"{nb}.ipynb", "what": kind, "runs": len(rs),
                         "each": budget})
    return pd.DataFrame(rows)


def _finished(runs: Path) -> list[tuple[str, dict]]:
    """(run name, result.json) of every finished run in a ``runs/`` folder, by name (none if it is absent)."""
    found = [(d.name, read_result(d)) for d in sorted(runs.glob("*"))] if runs.is_dir() else []
    return [(name, res) for name, res in found if res is not None]


def run_costs(base: str | Path):
    """What every finished run of a results folder cost, from its own result.json: one row per run under
    ``base/runs`` (a folder of one table) or ``base/test-*/runs`` (a speaker-disjoint batch, with the held-out
    speaker), with its notebook, the date it finished, wall and CPU minutes (CPU: the kernel's process time,
    NaN for runs recorded before it was) and, for GGAN, the iteration its finishing invocation started at.
    None when no run has finished there."""
    import pandas as pd
    base = Path(base)
    folds = [(None, base / "runs")] + [(f.name.removeprefix("test-"), f / "runs") for f in sorted(base.glob("test-*"))]
    rows = []
    for speaker, runs in folds:
        for name, res in _finished(runs):
            cpu = res.get("cpu_s")
            rows.append({**({"held-out speaker": speaker} if speaker else {}), "run": name,
                         "notebook": res.get("notebook", ""), "finished": res.get("finished", "")[:16],
                         "wall_min": round(float(res.get("wall_s", math.nan)) / 60, 1),
                         "cpu_min": round(cpu / 60, 1) if cpu is not None else math.nan,
                         "resumed_from": resumed_from(res)})
    return pd.DataFrame(rows) if rows else None


# --------------------------------------------------------------------------- speaker-disjoint Table II
def speaker_folds(base: str | Path):
    """Where a speaker-disjoint Table II stands (``reproduce --table 2 --test-speaker all --out base``): one row
    per held-out speaker's folder ``base/test-<speaker>``: runs with a result, runs planned (the fold manifest's
    Table II runs), whether all of them are done ('complete'; a runner that leaves runs to others writes a fold
    table of the finished ones, so a table alone does not mean a complete fold) and the CPU hours its runs
    recorded. None when ``base`` holds no fold (the batch never ran here)."""
    import pandas as pd
    rows = []
    for fold in sorted(Path(base).glob("test-*")) if Path(base).is_dir() else []:
        finished = _finished(fold / "runs")
        planned = _planned_runs(fold)
        cpu = [res.get("cpu_s") for _, res in finished]
        done = {name for name, _ in finished}
        rows.append({"held-out speaker": fold.name.removeprefix("test-"), "runs finished": len(finished),
                     "runs planned": len(planned) if planned else None,
                     "complete": bool(planned) and set(planned) <= done,
                     "CPU h (recorded)": round(sum(c for c in cpu if c) / 3600, 2)})
    if not rows:
        return None
    table = pd.DataFrame(rows).set_index("held-out speaker")
    return table.astype({"runs planned": "Int64"})  # a fold without a manifest leaves <NA>, not 10.0 for the rest


def fold_draws(base: str | Path):
    """Every scored label draw of a speaker-disjoint Table II (``base/test-<speaker>/runs/*/result.json``), finished
    folds or not: one row per (held-out speaker, method, labels, draw) with its test accuracy (%), fractions below
    100 % only. None when no run has finished. What the pooled table will average, shown before it exists."""
    import pandas as pd
    rows = [{"held-out speaker": fold.name.removeprefix("test-"), "method": r["method"],
             "labels": fraction_label(r["fraction"]), "draw": int(r["draw"]), "accuracy": 100 * float(r["accuracy"])}
            for fold in (sorted(Path(base).glob("test-*")) if Path(base).is_dir() else [])
            for _, res in _finished(fold / "runs") for r in res.get("metrics", {}).get("rows", [])
            if float(r["fraction"]) < 1.0]
    return pd.DataFrame(rows) if rows else None


def fold_verdict(draws, n_draws: int = 3):
    """Per held-out speaker and labelled fraction, each method's mean accuracy (%) over its draws, where every
    method of Table II has all ``n_draws`` draws (other cells are left out), and whether GGAN's mean is above the
    CNN's and the unsupervised GAN's: the paper's claim, fold by fold. None when no fold is that far."""
    if draws is None:
        return None
    g = draws.groupby(["held-out speaker", "labels", "method"])["accuracy"].agg(["mean", "count"])
    means = g["mean"].unstack("method")
    full = (g["count"].unstack("method").reindex(columns=list(TABLE2_METHODS)) >= n_draws).all(axis=1)
    means = means[full].reindex(columns=list(TABLE2_METHODS)).round(1)
    if means.empty:
        return None
    means["GGAN > CNN"] = means["GGAN"] > means["CNN"]
    means["GGAN > unsupervised"] = means["GGAN"] > means["Unsupervised GAN"]
    return means


def paired_differences(draws):
    """GGAN's accuracy minus each baseline's on the same label draw (the same labelled clips, the same held-out
    speaker), pooled over folds: per labelled fraction and baseline, the number of pairs, the mean difference
    (points), how many pairs GGAN wins, and the smallest and largest difference. None without a pair."""
    import pandas as pd
    if draws is None:
        return None
    acc = draws.pivot_table(index=["held-out speaker", "labels", "draw"], columns="method", values="accuracy")
    rows = []
    for base, name in (("CNN", "CNN"), ("Unsupervised GAN", "unsupervised GAN")):
        if "GGAN" not in acc or base not in acc:
            continue
        diff = (acc["GGAN"] - acc[base]).dropna()
        for lab, d in diff.groupby(level="labels"):
            rows.append({"labels": lab, "GGAN minus": name, "pairs": len(d), "mean": round(d.mean(), 1),
                         "GGAN wins": int((d > 0).sum()), "min": round(d.min(), 1), "max": round(d.max(), 1)})
    return pd.DataFrame(rows).set_index(["labels", "GGAN minus"]) if rows else None


def _planned_runs(fold: Path) -> list[str]:
    """Names of the Table II runs a fold's manifest lists ([] without a manifest)."""
    return [r["name"] for r in read_manifest(fold).get("tables", {}).get("2", {}).get("runs", [])]


def validation_curves(folder: str | Path, window: tuple[int, int] = (1500, 2000)):
    """The deciding runs of an averaged-vs-last-iterate comparison (``results/diag/ema_*.json``, written by
    ``results/diag/diag_ema.py``) as two DataFrames: ``curves`` (method, labels, iteration, variant, val %,
    fit %) and ``summary`` (method, labels, variant: mean and range of val % over the iterations in
    ``window``, the rule's figures); (None, None) when the folder holds none."""
    import json

    import pandas as pd

    rows = []
    for path in sorted(Path(folder).glob("ema_*_f*.json")):
        run = json.loads(path.read_text())
        for rec in run["curve"]:
            for variant in [k for k in rec if k not in ("it", "cpu")]:
                rows.append({"method": run["what"].upper(), "labels": fraction_label(run["frac"]), "iteration": rec["it"],
                             "variant": "last iterate" if variant == "live" else f"average {variant[3:]}",
                             "val": 100 * rec[variant]["val"], "fit": 100 * rec[variant]["fit"]})
    if not rows:
        return None, None
    curves = pd.DataFrame(rows)
    w = curves[curves["iteration"].between(*window)]
    summary = (w.groupby(["method", "labels", "variant"])["val"].agg(["mean", "min", "max"]).round(1).reset_index())
    return curves, summary
