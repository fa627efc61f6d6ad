"""The gender experiment's report: verdict, Markdown summary, figures and the small result files.

Reads the metrics of :func:`ggan_lib.experiments.gender_measure.measure` (results/gender-*/metrics.json);
chapter 11 and ``python -m ggan_lib.cli.gender`` use it.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ggan_lib.book.plots import plot_interpolation
from ggan_lib.book.viz import plot_spectrogram_grid
from ggan_lib.experiments.gender import CLASS_NAMES, SR
from ggan_lib.io import atomic

F0_CAVEAT = ("F0 caveat: at {h} x {w} one frequency bin spans {bin_hz:.0f} Hz, and the PGHI inverse (hop 128) "
             "imposes a 16000 / 128 = 125 Hz frame-rate periodicity, so pyin tends to read about 125 Hz on round-trip "
             "audio whatever the voice (compare the round-trip and raw-audio rows above). Where the round-trip rows "
             "of male and female voices agree, F0 cannot carry gender at this resolution; the spectral envelope "
             "(centroid) and the classifier still can.")
PAPER_NOTE = "Paper (SC09 + LibriSpeech, 256 x 128, 2 x P100 for 33 h): IS 6.52 +- 0.5, FID 26.21."


# --------------------------------------------------------------------------- text
def verdict(metrics: dict[str, Any]) -> str:
    """Plain sentences: did the guidance work, and by how much (from the measured figures only)."""
    g = metrics["generated"]
    fm, ff = g["fraction_heard_female"]["male"], g["fraction_heard_female"]["female"]
    gap = ff - fm
    cm, cf = g["centroid_stats"]["male"]["median"], g["centroid_stats"]["female"]["median"]
    shift = g["paired_centroid_diff_female_minus_male"]["median"]
    up = g["pairs_higher_centroid_with_c_female"]
    if gap >= 0.3:
        head = "Guidance worked"
    elif gap >= 0.1:
        head = "Guidance worked partly"
    else:
        head = "By the independent gender classifier, guidance did not work"
    text = (f"{head}: the classifier hears {100 * ff:.0f} % of the c = female clips as female against "
            f"{100 * fm:.0f} % of the c = male clips from the same latent codes (a gap of "
            f"{_points(100 * gap)}); "
            f"the median spectral centroid is {cf:.0f} Hz for c = female and {cm:.0f} Hz for c = male.")
    if gap < 0.3 and np.isfinite(up) and up >= 0.75:
        text += (f" Yet c does act on the sound: for the same z, c = female has the higher spectral centroid in "
                 f"{100 * up:.0f} % of the pairs (median shift {shift:+.0f} Hz), i.e. the generator moved the spectral "
                 "envelope in the direction of the female voices without making clips that sound female to the "
                 "classifier.")
    return text


def seeds_table(runs: dict[str, dict[str, Any]]):
    """One column per run ({name: metrics}), one row per measure of the verdict: the runs of one recipe
    under different seeds side by side (what a single run cannot say: how much of it is the draw)."""
    import pandas as pd
    rows = {}
    for name, m in runs.items():
        g, dg, clf = m["generated"], m.get("digits", {}), m["gender_classifier"]
        rows[name] = {
            "seed": g.get("seed"),
            "c = female heard as female": g["fraction_heard_female"]["female"],
            "c = male heard as male": 1.0 - g["fraction_heard_female"]["male"],
            "same z: c = female sounds more female": g["pairs_more_female_with_c_female"],
            "same z: c = female has the higher centroid": g["pairs_higher_centroid_with_c_female"],
            "median centroid, c = male (Hz)": g["centroid_stats"]["male"]["median"],
            "median centroid, c = female (Hz)": g["centroid_stats"]["female"]["median"],
            "digit IS, all clips": dg.get("all", {}).get("is"),
            "same z: same digit heard for both c": dg.get("same_digit_across_c"),
            "gender classifier, held-out voices' digits": clf.get("acc_heldout_digits"),
        }
    return pd.DataFrame(rows)


def _points(x: float) -> str:
    """'1 percentage point', '12 percentage points' (rounded)."""
    n = int(round(x))
    return f"{n} percentage point{'' if abs(n) == 1 else 's'}"


def _real_centroid_gap(metrics: dict[str, Any]) -> float | None:
    """Median spectral centroid of the held-out real female voices minus the male ones, after the round trip."""
    ref = metrics.get("reference", {})
    med = {g: v["centroid_stats"]["median"] for k, v in ref.items() for g in ("female", "male")
           if k.startswith(f"held-out {g}") and "round trip" in k}
    return med["female"] - med["male"] if len(med) == 2 else None


def reading(metrics: dict[str, Any]) -> str:
    """What the measured figures say about the run, beyond the verdict: does c act, and on what."""
    g, tr, dg = metrics["generated"], metrics.get("training", {}), metrics.get("digits", {})
    ff, fm = g["fraction_heard_female"]["female"], g["fraction_heard_female"]["male"]
    up, shift = g["pairs_higher_centroid_with_c_female"], g["paired_centroid_diff_female_minus_male"]["median"]
    real_gap = _real_centroid_gap(metrics)
    acc = [a for a in tr.get("eval_history", {}).get("eval/acc", []) if a is not None]
    shape = metrics.get("spec_shape", ["?", "?"])
    out = [f"For the shipped model ({tr.get('iteration', '?'):,} iterations at {shape[0]} × {shape[1]}):"]
    if ff - fm < 0.1:
        out.append(f"judged by an independent classifier that names the held-out real voices' gender correctly "
                   f"{metrics['gender_classifier']['acc_heldout_words']:.0%} of the time, the generated digits do not "
                   "sound female for either $c$, so this offline run does **not** reproduce the paper's claim.")
    else:
        out.append(f"the independent classifier hears {ff:.0%} of the c = female clips as female against {fm:.0%} "
                   "for c = male.")
    if np.isfinite(up) and real_gap is not None:
        out.append(f"The median centroid shift between c = female and c = male for the same $z$, {shift:+.0f} Hz "
                   f"({up:.0%} of the pairs shift upwards), compares with {real_gap:+.0f} Hz between the real held-out "
                   "female and male voices after the same round trip.")
    if acc:
        out.append(f"The GGAN's own $C_x(F(D(x)))$ names the held-out voices' gender {acc[-1]:.0%} of the time at the "
                   "last evaluation (the training table at the end): "
                   + ("the representation and the generator both carry gender." if ff - fm >= 0.1 else
                      "the representation separates gender even where the generator does not act on it."))
    same = dg.get("same_digit_across_c")
    if same is not None:
        out.append(f"And flipping $c$ keeps the digit heard in only {same:.0%} of the pairs, so gender is "
                   + ("not yet disentangled from the word." if same < 0.8 else "largely kept apart from the word."))
    return " ".join(out)


def _header_lines(metrics: dict[str, Any]) -> list[str]:
    """Title, command, data and the verdict."""
    c, tr = metrics["gender_classifier"], metrics.get("training", {})
    moved = metrics.get("unlabelled_voices") or []
    extra = f" + the synthetic digits of {', '.join(moved)} (gender withheld)" if moved else ""
    guide = [v for v in c["train_speakers"] if v not in moved]
    return [f"# Gender-guided GGAN ({metrics.get('preset', '?')} preset): measured figures", "",
            f"Command: `{metrics.get('command', '?')}`", "",
            f"Unlabelled: {metrics.get('unlabelled', '?')}{extra}; guidance: {metrics.get('guidance', '?')} "
            f"(voices {', '.join(guide)}); held out: {', '.join(c['test_speakers'])}. The independent gender "
            f"classifier learns from the words of every voice not held out. "
            f"Iterations: {tr.get('iteration', '?')}; spectrograms "
            f"{metrics['spec_shape'][0]} x {metrics['spec_shape'][1]}.",
            "", f"**{verdict(metrics)}**", ""]


def _classifier_lines(metrics: dict[str, Any]) -> list[str]:
    """The independent gender classifier's accuracy table."""
    c = metrics["gender_classifier"]
    lines = ["## Independent gender classifier (log-mel CNN, trained on round-trip audio of the guidance voices)", "",
             "| test set | accuracy |", "|---|---|",
             f"| held-out {'voices, words' if metrics.get('guidance') == 'voices' else 'speakers'} "
             f"({c['n_test']} clips) "
             f"| {c['acc_heldout_words']:.3f} |"]
    if "acc_heldout_digits" in c:
        lines.append(f"| held-out voices, digits ({c['n_heldout_digits']} clips) | {c['acc_heldout_digits']:.3f} |")
    if "fsdd_fraction_heard_male" in c:
        lines.append(f"| FSDD (all male) heard as male ({c['n_fsdd']} clips) | {c['fsdd_fraction_heard_male']:.3f} |")
    return lines


def _generated_lines(metrics: dict[str, Any]) -> list[str]:
    """The paired generated clips: what the classifier hears, F0, centroid, digit IS / FID."""
    g, d = metrics["generated"], metrics.get("digits", {})
    lines = ["", f"## Generated clips: the same {g['n_per_class']} latent codes with c = male and c = female", "",
             "| | c = male | c = female |", "|---|---|---|",
             f"| heard as female | {g['fraction_heard_female']['male']:.3f} | "
             f"{g['fraction_heard_female']['female']:.3f} |",
             f"| mean P(female) | {g['mean_p_female']['male']:.3f} | {g['mean_p_female']['female']:.3f} |",
             f"| median F0 (Hz, pyin) | {g['f0_stats']['male']['median']:.1f} | "
             f"{g['f0_stats']['female']['median']:.1f} |",
             f"| median spectral centroid (Hz) | {g['centroid_stats']['male']['median']:.0f} | "
             f"{g['centroid_stats']['female']['median']:.0f} |"]
    if d:
        lines += [f"| digit IS | {d['male']['is']:.2f} | {d['female']['is']:.2f} |"]
        if "fid" in d["male"]:
            lines += [f"| digit FID | {d['male']['fid']:.1f} | {d['female']['fid']:.1f} |"]
    lines += ["", f"Pairs (same z) where c = female sounds more female: {g['pairs_more_female_with_c_female']:.3f}; "
              f"with a higher centroid: {g['pairs_higher_centroid_with_c_female']:.3f}; median paired centroid "
              f"shift {g['paired_centroid_diff_female_minus_male']['median']:+.0f} Hz."]
    if d:
        lines += [f"Digit IS of all {2 * g['n_per_class']} clips: {d['all']['is']:.2f} +- {d['all']['is_std']:.2f}"
                  + (f", FID {d['all']['fid']:.1f} ({d['fid_reference']})" if "fid" in d["all"] else "")
                  + "; the metric classifier hears the same digit for both c in "
                  f"{100 * d['same_digit_across_c']:.0f} % "
                  "of the pairs. " + PAPER_NOTE]
    return lines


def _reference_lines(metrics: dict[str, Any]) -> list[str]:
    """F0 / centroid of the real references, and why F0 says little at a small resolution."""
    lines = ["", "## Real references", "", "| clips | median F0 (Hz) | median centroid (Hz) |", "|---|---|---|"]
    for k, v in metrics["reference"].items():
        lines.append(f"| {k} | {v['f0_stats']['median']:.1f} | {v['centroid_stats']['median']:.0f} |")
    h, w = metrics["spec_shape"]
    return lines + ["", F0_CAVEAT.format(h=h, w=w, bin_hz=8000 / h), ""]


def summary_markdown(metrics: dict[str, Any]) -> str:
    """The Markdown summary of results/gender-*/metrics.json."""
    return "\n".join(_header_lines(metrics) + _classifier_lines(metrics) + _generated_lines(metrics)
                     + _reference_lines(metrics))


# --------------------------------------------------------------------------- figures
def plot_measures(metrics: dict[str, Any], key: str = "centroid", ax=None):
    """Histogram of a per-clip measure ('f0' or 'centroid') of the generated clips per c (from metrics.json)."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    g = metrics["generated"][key]
    vals = [np.asarray(g[n], float) for n in CLASS_NAMES]
    vals = [v[np.isfinite(v)] for v in vals]
    allv = np.concatenate(vals) if any(len(v) for v in vals) else np.zeros(1)
    bins = np.linspace(allv.min() - 1, allv.max() + 1, 30)
    for n, v, col in zip(CLASS_NAMES, vals, ("tab:blue", "tab:red")):
        med = np.median(v) if len(v) else float("nan")
        ax.hist(v, bins=bins, alpha=0.5, color=col, label=f"c = {n} (median {med:.0f} Hz)")
    ax.set_xlabel("F0 (Hz, pyin)" if key == "f0" else "spectral centroid (Hz)")
    ax.set_ylabel("clips")
    ax.legend(fontsize=8)
    return ax


def _save_fig(fig, path: Path) -> None:
    """A figure as PNG, written atomically."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    with atomic.atomic_write(path) as fh:
        fh.write(buf.getvalue())


def _write_pair_audio(out: Path, media: dict[str, Any], n_pairs: int) -> None:
    """audio/z<i>_<male|female>.wav: the first n_pairs paired clips, peak-normalised, 16-bit."""
    import soundfile as sf
    for i in range(min(n_pairs, len(media["audio_male"]))):
        for name in CLASS_NAMES:
            w = media[f"audio_{name}"][i]
            peak = float(np.abs(w).max())
            buf = io.BytesIO()
            sf.write(buf, (0.95 * w / peak if peak > 0 else w).astype(np.float32), SR, format="WAV", subtype="PCM_16")
            with atomic.atomic_write(out / "audio" / f"z{i}_{name}.wav") as fh:
                fh.write(buf.getvalue())


def write_results(out: Path, metrics: dict[str, Any], media: dict[str, Any], n_pairs: int = 5,
                  interp=None) -> None:
    """metrics.json, summary.md, a few paired WAVs, figures (PNG): small files, written atomically.

    interp: the male -> female Interpolation (drawn as interpolation.png when given)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_pair_audio(out, media, n_pairs)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    plot_measures(metrics, "f0", axes[0])
    plot_measures(metrics, "centroid", axes[1])
    fig.tight_layout()
    _save_fig(fig, out / "f0_centroid.png")
    k = min(n_pairs, len(media["specs_male"]))
    specs = torch.cat([media["specs_male"][:k], media["specs_female"][:k]])
    fig = plot_spectrogram_grid(specs, titles=[f"z{i} male" for i in range(k)] + [f"z{i} female" for i in range(k)],
                                ncols=k)
    _save_fig(fig, out / "pairs.png")
    if interp is not None:
        _save_fig(plot_interpolation(interp, title="male -> female, same z"), out / "interpolation.png")
    plt.close("all")
    atomic.write_json(out / "metrics.json", metrics, indent=1)
    atomic.write_text(out / "summary.md", summary_markdown(metrics))
