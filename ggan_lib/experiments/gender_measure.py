"""Measure a gender-guided GGAN: every figure of results/gender-*/metrics.json (see :mod:`.gender`).

    from ggan_lib.experiments.gender_measure import MeasureOptions, measure
    metrics, media = measure(pm.model, test_speakers, MeasureOptions(n_per_class=100, seed=0))

For the same latent codes z generated once with c = male and once with c = female (PGHI audio): an
independent gender classifier's verdict (trained on the guidance voices' round-trip audio, tested on
held-out voices), pitch F0 and spectral centroid against real references, and digit IS / FID with the
project's metric classifier (features and reference per ``MeasureOptions.eval_cfg``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ggan_lib.config import EvalConfig
from ggan_lib.experiments.gender import (
    CLASS_NAMES,
    DEFAULT_CLASSIFIER,
    EVAL,
    _stats,
    audio_measures,
    gender_classifier_config,
    load_guidance,
    load_unlabelled,
    load_waves,
    p_female,
    paired_samples,
    roundtrip,
    specs_to_audio,
    train_gender_classifier,
)
from ggan_lib.metrics.classifier import load_classifier, save_classifier
from ggan_lib.metrics.reference import folder_reference
from ggan_lib.metrics.scores import classifier_outputs, feature_statistics, frechet_distance, inception_score


@dataclass(frozen=True)
class MeasureOptions:
    """How a gender-guided model is measured (the defaults are the offline experiment's)."""

    guidance: str = "voices"            # the guidance set (see gender.load_guidance)
    unlabelled: str = "fsdd"            # the unlabelled set; 'fsdd' adds FSDD references and the digit FID
    n_per_class: int = 100              # generated clips per c
    seed: int = 0                       # latent codes, reference picks, the gender classifier's training
    n_ref: int = 40                     # real reference clips per group for F0 / centroid
    classifier_epochs: int = 10         # epochs of the gender classifier (when trained here)
    classifier_cache: str | Path | None = None   # where the trained gender classifier is kept / read
    metric_classifier: str | Path | None = DEFAULT_CLASSIFIER  # digit IS / FID classifier (None: skip)
    f0: bool = True                     # pyin F0 (the slowest measure)
    max_train: int = 4000               # guidance clips for the classifier's training (each costs a round trip)
    max_test: int = 1000                # held-out guidance clips for its test
    eval_cfg: EvalConfig = EVAL         # digit IS / FID: feature layer, n_splits, n_real of the FSDD reference


# --------------------------------------------------------------------------- the gender classifier
def _capped(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted seeded subset of k of n indices (all of them when n <= k)."""
    return np.sort(rng.permutation(n)[:k]) if n > k else np.arange(n)


def _gender_classifier(train_ds, tr_idx, spec_shape, opts: MeasureOptions, log: Callable):
    """The cached gender classifier, else one trained here on round-trip guidance audio (and cached)."""
    cache = opts.classifier_cache
    if cache is not None and Path(cache).exists():
        log(f"[gender] gender classifier from {cache}")
        return load_classifier(cache)
    log(f"[gender] training the gender classifier on {len(tr_idx)} round-trip clips")
    w_train = roundtrip(load_waves([train_ds.paths[i] for i in tr_idx]), spec_shape)
    clf = train_gender_classifier(w_train, train_ds.labels[tr_idx], epochs=opts.classifier_epochs, seed=opts.seed)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        save_classifier(clf, cache)
    return clf


def _accuracy(clf, waves, is_female) -> float:
    """Fraction of clips whose P(female) > 0.5 agrees with is_female."""
    return float(((p_female(clf, waves) > 0.5) == is_female).mean())


def _guidance_sets(spec_shape, test_speakers: Sequence[str], opts: MeasureOptions):
    """(train set, test set, train rows, test rows) of the guidance voices, split by speaker.

    Large guidance sets (LibriSpeech: 30,000 clips) are subsampled: every clip costs a PGHI round trip."""
    train_ds = load_guidance(opts.guidance, spec_shape, split="train", test_speakers=test_speakers)
    test_ds = load_guidance(opts.guidance, spec_shape, split="test", test_speakers=test_speakers)
    cap = np.random.default_rng(opts.seed + 1)
    return train_ds, test_ds, _capped(len(train_ds), opts.max_train, cap), _capped(len(test_ds), opts.max_test, cap)


def _heldout_digits(clf, spec_shape, test_speakers: Sequence[str]) -> dict[str, Any]:
    """The classifier's accuracy on the held-out voices' digits (the 'voices' guidance set only)."""
    dig = load_guidance("voices-digits", spec_shape, split="test", test_speakers=test_speakers)
    y_dig = np.array([1 if s.startswith("f") else 0 for s in dig.speakers])  # voice names start m / f
    return {"acc_heldout_digits": _accuracy(clf, roundtrip(load_waves(dig.paths), spec_shape), y_dig == 1),
            "n_heldout_digits": len(dig)}


def _fsdd_reference(clf, spec_shape, opts: MeasureOptions, info: dict, rng: np.random.Generator) -> np.ndarray:
    """How male the classifier hears real FSDD (into info); returns n_ref of those round-trip clips."""
    fs = load_unlabelled("fsdd", spec_shape)
    pick = rng.permutation(len(fs))[:max(opts.n_ref, 100)]
    w_fsdd = roundtrip(load_waves([fs.paths[i] for i in pick]), spec_shape)
    info["fsdd_fraction_heard_male"] = float((p_female(clf, w_fsdd) <= 0.5).mean())
    info["n_fsdd"] = len(pick)
    return w_fsdd[:opts.n_ref]


def classifier_part(spec_shape, test_speakers: Sequence[str], opts: MeasureOptions, gender_classifier=None,
                    log: Callable = print):
    """(gender classifier, its metrics block, real reference clips for F0 / centroid) at spec_shape."""
    rng = np.random.default_rng(opts.seed)
    train_ds, test_ds, tr_idx, te_idx = _guidance_sets(spec_shape, test_speakers, opts)
    info: dict[str, Any] = {"config": gender_classifier_config().to_dict(),
                            "train_speakers": sorted(set(train_ds.speakers)),
                            "test_speakers": sorted(set(test_ds.speakers)),
                            "n_train": len(tr_idx), "n_test": len(te_idx)}
    clf = (gender_classifier if gender_classifier is not None
           else _gender_classifier(train_ds, tr_idx, spec_shape, opts, log))
    y_test = test_ds.labels[te_idx]
    w_test_raw = load_waves([test_ds.paths[i] for i in te_idx])
    w_test = roundtrip(w_test_raw, spec_shape)
    info["acc_heldout_words"] = _accuracy(clf, w_test, y_test == 1)
    info["acc_heldout_words_raw_audio"] = _accuracy(clf, w_test_raw, y_test == 1)
    if opts.guidance == "voices":
        info.update(_heldout_digits(clf, spec_shape, test_speakers))
    refs: dict[str, np.ndarray] = {}  # round-trip audio of real references, for F0 / centroid
    if opts.unlabelled == "fsdd":
        refs["fsdd (real, round trip)"] = _fsdd_reference(clf, spec_shape, opts, info, rng)
    for y, name in enumerate(CLASS_NAMES):
        idx = rng.permutation(np.flatnonzero(y_test == y))[:opts.n_ref]
        refs[f"held-out {name} voices (real, round trip)"] = w_test[idx]
        refs[f"held-out {name} voices (real, raw audio)"] = w_test_raw[idx]
    return clf, info, refs


# --------------------------------------------------------------------------- generated clips
def _heard(pf_m: np.ndarray, pf_f: np.ndarray, opts: MeasureOptions) -> dict[str, Any]:
    """What the gender classifier hears in the paired clips."""
    gen = {"n_per_class": opts.n_per_class, "seed": opts.seed,
           "p_female": {"male": pf_m.tolist(), "female": pf_f.tolist()},
           "fraction_heard_female": {"male": float((pf_m > 0.5).mean()), "female": float((pf_f > 0.5).mean())},
           "mean_p_female": {"male": float(pf_m.mean()), "female": float(pf_f.mean())},
           "pairs_more_female_with_c_female": float((pf_f > pf_m).mean())}
    gen["gender_accuracy"] = 0.5 * ((1 - gen["fraction_heard_female"]["male"]) + gen["fraction_heard_female"]["female"])
    return gen


def _sound(gen: dict[str, Any], a_m: np.ndarray, a_f: np.ndarray, f0: bool) -> None:
    """F0 and spectral centroid of the paired clips (per clip, summary, paired differences) into gen."""
    meas = {"male": audio_measures(a_m, f0=f0), "female": audio_measures(a_f, f0=f0)}
    gen["f0"] = {k: v["f0"] for k, v in meas.items()}
    gen["voiced"] = {k: v["voiced"] for k, v in meas.items()}
    gen["centroid"] = {k: v["centroid"] for k, v in meas.items()}
    gen["f0_stats"] = {k: _stats(v["f0"]) for k, v in meas.items()}
    gen["centroid_stats"] = {k: _stats(v["centroid"]) for k, v in meas.items()}
    df0 = np.asarray(meas["female"]["f0"]) - np.asarray(meas["male"]["f0"])
    dc = np.asarray(meas["female"]["centroid"]) - np.asarray(meas["male"]["centroid"])
    gen["paired_f0_diff_female_minus_male"] = _stats(df0)
    gen["paired_centroid_diff_female_minus_male"] = _stats(dc)
    gen["pairs_higher_centroid_with_c_female"] = float(np.nanmean(np.where(np.isfinite(dc), dc > 0, np.nan)))


def reference_measures(refs: dict[str, np.ndarray], f0: bool = True) -> dict[str, Any]:
    """F0 / centroid (per clip and summary) of each group of real reference clips."""
    ref_meas = {k: audio_measures(v, f0=f0) for k, v in refs.items()}
    return {k: {"f0_stats": _stats(m["f0"]), "centroid_stats": _stats(m["centroid"]), "f0": m["f0"],
                "centroid": m["centroid"]} for k, m in ref_meas.items()}


# --------------------------------------------------------------------------- digit IS / FID
def _scores(clf, audio: np.ndarray, eval_cfg: EvalConfig) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """({'is', 'is_std'}, probabilities, features) of audio under the metric classifier."""
    probs, feats = classifier_outputs(audio, clf, feature_kind=eval_cfg.feature_kind, progress=False)
    is_m, is_s = inception_score(probs, n_splits=min(eval_cfg.n_splits, max(1, len(audio) // 2)))
    return {"is": is_m, "is_std": is_s}, probs, feats


def _fid(feats: np.ndarray, real_stats) -> float:
    """FID of features against the real reference statistics."""
    st = feature_statistics(feats)
    return frechet_distance(st.mu, st.sigma, real_stats.mu, real_stats.sigma)


def _digit_scores(clf, audio: dict[str, np.ndarray], real_stats, eval_cfg: EvalConfig = EVAL) -> dict[str, Any]:
    """IS (and FID vs real_stats) of each c's audio and of both together; digit kept across c."""
    out: dict[str, Any] = {}
    preds = {}
    for key, a in audio.items():
        rec, probs, feats = _scores(clf, a, eval_cfg)
        rec["digit_counts"] = np.bincount(probs.argmax(1), minlength=10).tolist()
        if real_stats is not None and len(a) > 2:
            rec["fid"] = _fid(feats, real_stats)
        out[key] = rec
        preds[key] = probs.argmax(1)
    out["all"], _, feats = _scores(clf, np.concatenate([audio[k] for k in audio]), eval_cfg)
    if real_stats is not None:
        out["all"]["fid"] = _fid(feats, real_stats)
    keys = list(preds)
    if len(keys) == 2:
        out["same_digit_across_c"] = float((preds[keys[0]] == preds[keys[1]]).mean())
    return out


def fsdd_real_stats(clf, spec_shape, eval_cfg: EvalConfig = EVAL, cache_dir=None):
    """Metric-classifier statistics (eval_cfg.feature_kind) of eval_cfg.n_real FSDD training clips (shuffled
    with seed 0) sent through the round trip at spec_shape: :func:`~ggan_lib.metrics.reference.folder_reference`."""
    return folder_reference(clf, eval_cfg, spec_shape, split="train", seed=0, cache_dir=cache_dir)


def digit_part(a_m: np.ndarray, a_f: np.ndarray, spec_shape, opts: MeasureOptions) -> dict[str, Any]:
    """Digit IS / FID of the paired clips with the metric classifier ({} when there is none)."""
    if not opts.metric_classifier or not Path(opts.metric_classifier).exists():
        return {}
    mclf = load_classifier(opts.metric_classifier)
    real_stats = fsdd_real_stats(mclf, spec_shape, opts.eval_cfg) if opts.unlabelled == "fsdd" else None
    digits = _digit_scores(mclf, {"male": a_m, "female": a_f}, real_stats, opts.eval_cfg)
    digits["classifier"] = str(Path(opts.metric_classifier).name)
    digits["fid_reference"] = (f"{opts.eval_cfg.n_real} FSDD training clips through the {spec_shape[0]} x "
                               f"{spec_shape[1]} round trip") if real_stats is not None else None
    return digits


# --------------------------------------------------------------------------- everything
def measure(model, test_speakers: Sequence[str], opts: MeasureOptions = MeasureOptions(), *,
            gender_classifier=None, log: Callable = print) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every figure of the experiment; returns (metrics, media) where media holds audio / spectrograms for files.

    model: the GGAN (or a Pretrained); test_speakers: held-out guidance voices (never seen by the GGAN or
    the gender classifier's training); gender_classifier: a trained one (else trained here, cached at
    opts.classifier_cache)."""
    net = model.model if hasattr(model, "model") else model
    spec_shape = tuple(net.cfg.spec_shape)
    t0 = time.perf_counter()
    clf, info, refs = classifier_part(spec_shape, test_speakers, opts, gender_classifier, log)
    log(f"[gender] classifier held-out accuracy {info['acc_heldout_words']:.3f} ({time.perf_counter() - t0:.0f} s)")
    s_m, s_f = paired_samples(net, opts.n_per_class, seed=opts.seed)
    a_m, a_f = specs_to_audio(s_m, spec_shape), specs_to_audio(s_f, spec_shape)
    gen = _heard(p_female(clf, a_m), p_female(clf, a_f), opts)
    log(f"[gender] generated: heard female {gen['fraction_heard_female']} ({time.perf_counter() - t0:.0f} s)")
    _sound(gen, a_m, a_f, opts.f0)
    reference = reference_measures(refs, opts.f0)
    log(f"[gender] F0 / centroid measured ({time.perf_counter() - t0:.0f} s)")
    digits = digit_part(a_m, a_f, spec_shape, opts)
    if digits:
        log(f"[gender] digit IS {digits['all']['is']:.3f} ({time.perf_counter() - t0:.0f} s)")
    metrics = {"gender_classifier": info, "generated": gen, "reference": reference, "digits": digits,
               "spec_shape": list(spec_shape), "seconds": round(time.perf_counter() - t0, 1)}
    media = {"specs_male": s_m, "specs_female": s_f, "audio_male": a_m, "audio_female": a_f}
    return metrics, media
