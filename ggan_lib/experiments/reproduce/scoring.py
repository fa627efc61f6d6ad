"""Table I's scores: IS / FID of generated spectrograms (through PGHI audio) and of real audio.

The real FID references come from ggan_lib.metrics.reference (raw clips and the same clips sent
through the preset's spectrogram + PGHI round trip); defaults not given are the preset's EvalConfig.
"""
from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import torch

from ggan_lib.config import EvalConfig, ModelConfig
from ggan_lib.metrics import reference_scores, score_spectrograms
from ggan_lib.metrics.scores import nonfinite_mask

from .data import audio_cfg


def eval_config(preset: str | None, feature_kind: str | None = None, n_splits: int | None = None) -> EvalConfig:
    """The preset's EvalConfig (EvalConfig() without one) with feature_kind / n_splits overridden when given."""
    ev = EvalConfig.preset(preset) if preset else EvalConfig()
    over = {k: v for k, v in (("feature_kind", feature_kind), ("n_splits", n_splits)) if v is not None}
    return ev.replace(**over) if over else ev


def score_generated(specs: torch.Tensor, real_stats, classifier, *, preset: str, feature_kind: str | None = None,
                    n_splits: int | None = None, on_nonfinite: str = "report", device: str = "cpu",
                    progress: bool = False, raw_stats=None, codes=None) -> dict[str, Any]:
    """IS / FID of generated spectrograms through PGHI audio; NaN / inf ones are counted and, by default,
    nothing is scored (a diverged generator gets NaN scores and a note, never a number).

    codes: the class code each spectrogram was generated for (:func:`generated_codes`; None for an
    unconditional generator) -> 'heard_as_code', how often the metric classifier hears a clip as its
    code, and 'heard_per_code' (the class-truth of the generator, printed beside IS / FID).

    real_stats: the primary FID reference, real clips sent through the same spectrogram + PGHI round
    trip (``real_reference(...)[1]["roundtrip"]``) -> 'fid'. raw_stats: untouched real clips -> 'fid_raw'
    (NaN when not given); it mostly measures the front end, see ggan_lib.metrics.scores.
    on_nonfinite: 'report' (any non-finite spectrogram: no scores) or 'exclude' (score the finite rest).
    feature_kind, n_splits: default the preset's EvalConfig.
    """
    if on_nonfinite not in ("report", "exclude"):
        raise ValueError(f"on_nonfinite must be 'report' or 'exclude', got {on_nonfinite!r}")
    ev = eval_config(preset, feature_kind, n_splits)
    n_bad = int(nonfinite_mask(specs).sum())
    out: dict[str, Any] = {"n_generated": len(specs), "n_nonfinite": n_bad, "is": math.nan, "is_std": math.nan,
                           "fid": math.nan, "fid_raw": math.nan, "heard_as_code": math.nan,
                           "fid_reference": "roundtrip", "note": ""}
    if n_bad:
        out["note"] = f"{n_bad}/{len(specs)} generated spectrograms hold NaN/inf (diverged generator)"
        print(f"WARNING: {out['note']}; " + ("not scored" if on_nonfinite == "report" else "scoring the rest"),
              file=sys.stderr)
        if on_nonfinite == "report" or len(specs) - n_bad < ev.n_splits:
            return out
    res = score_spectrograms(specs, real_stats, classifier, on_nonfinite="exclude", device=device,
                             n_splits=ev.n_splits, feature_kind=ev.feature_kind, audio_cfg=audio_cfg(preset),
                             n_gla=ev.n_gla, batch_size=ev.batch_size, progress=progress)
    out.update({"is": res.is_mean, "is_std": res.is_std, "fid": res.fid, "fid_raw": res.fid_against(raw_stats),
                "n_scored": res.n_scored})
    if codes is not None:
        out["heard_as_code"], out["heard_per_code"] = res.heard_as(np.asarray(codes), classifier.cfg.n_classes)
    return out


def generated_codes(kind: str, n: int, n_classes: int):
    """The codes of ``n`` clips sampled with the fixed codes (0..n-1 mod n_classes, what every zoo model's
    ``sample`` uses), or None for the unconditional BigGAN, whose clips have no code."""
    return None if kind == "unsupervised_biggan" else np.arange(n) % n_classes


def _real_scores(waves: np.ndarray, classifier, ev: EvalConfig, *, device: str, preset: str | None,
                 progress: bool = False):
    """ScoreResults (with FeatureStats) of real audio as it is and, for a preset, through its round trip."""
    shape = ModelConfig.preset(preset).spec_shape if preset else ModelConfig().spec_shape  # raw: not used
    kw = dict(device=device, progress=progress)
    raw = reference_scores(classifier, waves, ev, shape, reference="raw", **kw)
    rt = None if preset is None else reference_scores(classifier, waves, ev, shape, reference="roundtrip",
                                                      audio_cfg=audio_cfg(preset), **kw)
    return raw, rt


def _real_row(raw, rt) -> dict[str, float]:
    """Table I's real-row fields of the raw and round-trip ScoreResults."""
    row = {"is": raw.is_mean, "is_std": raw.is_std, "n": raw.n_scored}
    if rt is not None:  # the IS ceiling the front end allows
        row.update({"is_roundtrip": rt.is_mean, "is_roundtrip_std": rt.is_std})
    return row


def real_reference(waves: np.ndarray, classifier, *, preset: str, feature_kind: str | None = None,
                   n_splits: int | None = None, device: str = "cpu",
                   progress: bool = False) -> tuple[dict[str, float], dict[str, Any]]:
    """The FID references of real (training) audio and Table I's real-train row, in one pass per reference.

    Returns (row, refs): row = IS of the raw clips and of their round trip at the preset's spectrogram
    shape ('is_roundtrip'), FIDs NaN (the set is the reference); refs = {"roundtrip": FeatureStats,
    "raw": FeatureStats} for score_generated / score_real. feature_kind, n_splits: default the
    preset's EvalConfig.
    """
    raw, rt = _real_scores(waves, classifier, eval_config(preset, feature_kind, n_splits), device=device,
                           preset=preset, progress=progress)
    row = {**_real_row(raw, rt), "fid": math.nan, "fid_raw": math.nan}
    return row, {"roundtrip": rt.stats, "raw": raw.stats}


def score_real(waves: np.ndarray, real_stats, classifier, *, feature_kind: str | None = None,
               n_splits: int | None = None, device: str = "cpu", preset: str | None = None,
               raw_stats=None, labels=None) -> dict[str, float]:
    """IS (and FID) of real audio, as Table I's real-test row.

    labels (the clips' digits): 'heard_as_label', the metric classifier's accuracy on the clips, and with
    a preset 'heard_as_label_roundtrip', its accuracy on their round trip (how far to trust it on audio
    that stands where generated audio stands).

    With a preset, the clips are also sent through the round trip at its spectrogram shape:
    'is_roundtrip', 'fid' = round-trip clips vs real_stats (a round-trip reference, see
    real_reference), 'fid_raw' = raw clips vs raw_stats and 'fid_roundtrip_vs_raw' = round-trip clips vs
    raw_stats (what the front end alone adds to a raw-reference FID). Without one: 'fid' = raw clips vs
    real_stats. feature_kind, n_splits: default the preset's EvalConfig (EvalConfig() without a preset).
    """
    raw, rt = _real_scores(waves, classifier, eval_config(preset, feature_kind, n_splits), device=device,
                           preset=preset)
    row = _real_row(raw, rt)
    row["fid"] = (raw if rt is None else rt).fid_against(real_stats)
    row["fid_raw"] = raw.fid_against(raw_stats)
    if rt is not None:  # round-trip clips vs the raw reference: the front end's share of any fid_raw
        row["fid_roundtrip_vs_raw"] = rt.fid_against(raw_stats)
    if labels is not None:
        row["heard_as_label"] = raw.heard_as(labels, classifier.cfg.n_classes)[0]
        if rt is not None:
            row["heard_as_label_roundtrip"] = rt.heard_as(labels, classifier.cfg.n_classes)[0]
    return row
