"""What the results say, in sentences made from the numbers: the chapters' readings of Tables I and II,
of a listening row and of a demonstration run. Nothing here is typed in: when the results are
regenerated, the prose follows them (chapters show it with ``ggan_lib.book.prose``).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ggan_lib.experiments.reproduce.tables import TABLE2_METHODS, fraction_label, label_fraction

#: Table I's generative models that this project trains (the others are the paper's figures only).
TABLE1_GANS = ("Supervised BigGAN", "Unsupervised BigGAN", "GGAN")


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 point', '3 points'."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _num(x) -> float | None:
    """A finite float, or None for a missing cell."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _figure(v: float) -> str:
    """A figure to as many digits as it needs: 54, 0.38 (a round-trip FID of 128-d features is below 1)."""
    return f"{v:.0f}" if abs(v) >= 10 else f"{v:.2g}" if abs(v) < 1 else f"{v:.1f}"


def _ranking(values: dict[str, float], higher_is_better: bool = True) -> list[str]:
    """Method names, best first."""
    return sorted(values, key=lambda m: -values[m] if higher_is_better else values[m])


def _fraction_sentence(row) -> tuple[str, bool] | None:
    """One fraction of Table II: our order against the paper's, and whether the paper's winner wins here."""
    ours = {m: _num(row[f"{m} mean"]) for m in TABLE2_METHODS}
    ours = {m: v for m, v in ours.items() if v is not None}
    paper = {m: _num(row[f"{m} paper mean"]) for m in ours}
    if len(ours) < 2 or any(v is None for v in paper.values()):
        return None
    std = {m: _num(row[f"{m} std"]) or 0.0 for m in ours}
    ours_rank, paper_rank = _ranking(ours), _ranking(paper)
    frac = fraction_label(row["fraction"])
    cells = ", ".join(f"{m} {ours[m]:.1f} ± {std[m]:.1f}" for m in ours_rank)
    text = (f"At {frac} the paper ranks {' > '.join(paper_rank)} ({', '.join(f'{paper[m]:.1f}' for m in paper_rank)}); "
            f"ours: {cells}.")
    top, runner = ours_rank[0], ours_rank[1]
    close = ours[top] - ours[runner] <= max(std[top], std[runner])
    if ours_rank == paper_rank:
        text += " The same order" + (f", though {top} and {runner} are within one standard deviation." if close else ".")
    elif ours_rank[0] == paper_rank[0]:
        text += f" {top} comes first here too; the order of the others differs."
    else:
        text += (f" The paper's best, {paper_rank[0]}, is not first here: {top} is"
                 + (" (within one standard deviation)." if close else f", by {ours[top] - ours[paper_rank[0]]:.1f} points."))
    return text, ours_rank[0] == paper_rank[0]


def table2_reading(t2) -> str:
    """Table II in sentences: per fraction, our order of the methods against the paper's, and the gap."""
    sentences, kept = [], []
    for _, row in t2.iterrows():
        got = _fraction_sentence(row)
        if got:
            sentences.append(got[0])
            kept.append(got[1])
    gaps = [_num(row[f"{m} paper mean"]) - _num(row[f"{m} mean"]) for _, row in t2.iterrows()
            for m in TABLE2_METHODS if _num(row[f"{m} mean"]) is not None and _num(row[f"{m} paper mean"]) is not None]
    if gaps:
        sentences.append(f"Every accuracy of ours is {_figure(min(gaps))} to {_figure(max(gaps))} points below the paper's.")
    if kept and all(kept):
        sentences.append("The paper's best method at each fraction is also ours.")
    elif kept:
        sentences.append(f"So the paper's result, its best method ahead at every fraction, is **not reproduced** at this "
                         f"scale ({kept.count(False)} of {plural(len(kept), 'fraction')} differ); read these tables as "
                         "what this budget gives, not as a check of the paper.")
    return " ".join(sentences)


def table1_reading(t1) -> str:
    """Table I in sentences: IS and round-trip FID of the trained GANs against the paper's, and real clips."""
    rows = {r["model"]: r for _, r in t1.iterrows()}
    gans = [m for m in TABLE1_GANS if m in rows and _num(rows[m]["is_mean"]) is not None]
    if len(gans) < 2:
        return ""
    out = []
    for key, paper_key, name, higher in (("is_mean", "paper_is_mean", "IS", True), ("fid", "paper_fid_mean", "FID", False)):
        ours = {m: _num(rows[m][key]) for m in gans if _num(rows[m][key]) is not None}
        paper = {m: _num(rows[m][paper_key]) for m in ours if _num(rows[m][paper_key]) is not None}
        if len(ours) < 2:
            continue
        best_ours = _ranking(ours, higher)[0]
        best_paper = _ranking(paper, higher)[0] if paper else None
        cells = ", ".join(f"{m} {ours[m]:.2f}" if name == "IS" else f"{m} {_figure(ours[m])}" for m in gans if m in ours)
        label = "FID (round trip)" if name == "FID" else "IS"
        s = f"{label}, ours: {cells}; {'highest' if higher else 'lowest'} is {best_ours}"
        if best_paper:
            s += (", as in the paper." if best_paper == best_ours else
                  f", where the paper's {'highest' if higher else 'lowest'} is {best_paper} (not reproduced).")
        out.append(s if s.endswith(".") else s + ".")
    real = rows.get("Real (Test Data)")
    if real is not None and _num(real["fid"]) is not None:
        out.append(f"Real test clips score FID {_num(real['fid']):.2f} under the same reference, the floor of that "
                   "column.")
    return " ".join(out)


def heard_as(conditions: Sequence[int], heard: Sequence[int], names: Sequence[str] | None = None) -> str:
    """A listening row in words: which conditions the classifier hears as another class."""
    wrong = [(c, h) for c, h in zip(conditions, heard) if int(c) != int(h)]
    name = (lambda k: names[k]) if names is not None else str
    if not wrong:
        return f"The classifier hears every one of the {len(conditions)} clips as the digit it was generated for."
    pairs = ", ".join(f"c = {name(c)} as {name(h)}" for c, h in wrong)
    return (f"The classifier hears {len(wrong)} of the {len(conditions)} clips as another digit than the one asked "
            f"for ({pairs}); the other {plural(len(conditions) - len(wrong), 'clip is', 'clips are')} heard as "
            "intended.")


def loud_conditions(gen_levels: Sequence[float], real_levels: Sequence[float]) -> list[int]:
    """Conditions whose generated spectrogram is louder overall (mean level) than every real clip."""
    top = float(np.max(real_levels))
    return [i for i, v in enumerate(gen_levels) if float(v) > top]


def at_chance(accuracy_pct: float, n_classes: int, margin_pct: float = 2.0) -> bool:
    """True when an accuracy (%) is within margin_pct points of guessing among n_classes."""
    return abs(accuracy_pct - 100.0 / n_classes) <= margin_pct


def fold_verdict_reading(verdict, *, complete: bool = False) -> str:
    """One paragraph on reports.fold_verdict: per labelled fraction, in how many folds GGAN's mean is above
    the CNN's and above the unsupervised GAN's, and in which fold-and-fraction cells it is above both.
    complete: every fold has run, so the paragraph reads as the fold-by-fold verdict, not as "so far"."""
    parts = []
    for lab in sorted(set(verdict.index.get_level_values("labels")), key=label_fraction):
        v = verdict.xs(lab, level="labels")
        n = plural(len(v), "fold")
        parts.append(f"at {lab} labels GGAN's mean is above the CNN's in {int(v['GGAN > CNN'].sum())} of {n} "
                     f"and above the unsupervised GAN's in {int(v['GGAN > unsupervised'].sum())} of {n}")
    both = verdict.index[verdict["GGAN > CNN"] & verdict["GGAN > unsupervised"]]
    cells = plural(len(verdict), "fold-and-fraction cell")
    where = (f"in {len(both)} of {cells} ("
             + ", ".join(f"{spk} at {lab}" for spk, lab in both) + ")") if len(both) else f"in none of the {cells}"
    head = ("With every fold in, " if complete else "So far, ") + "; ".join(parts) + f". It is above both baselines' {where}."
    if complete:
        return head + (" The paper's Table II has GGAN above both at every fraction; fold by fold, "
                       + ("that holds here too." if len(both) == len(verdict) else "that does not hold here."))
    return head + (" The paper's Table II has GGAN above both at every fraction; the pooled table, once every "
                   "fold has run, is the verdict.")
