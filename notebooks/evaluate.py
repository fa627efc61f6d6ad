# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Evaluate a checkpoint: IS / FID through PGHI audio, accuracy, real-train / real-test IS
#
# Papermill notebook, run by `python -m ggan_lib.cli.reproduce` in its run folder (the cwd). Generated
# spectrograms -> PGHI -> audio -> the project's classifier (paper IV-C); FID against real
# training-split statistics, twice: `fid` against the real clips sent through the same spectrogram + PGHI
# round trip (the primary figure: both sides share the front end) and `fid_raw` against the untouched
# recordings (mostly measures the front end: digital silence, level, resolution). NaN spectrograms of
# a diverged generator are counted and reported, never scored. A checkpoint of another preset or kind
# stops here with an error naming both. Every model is sampled the same way (`ggan_lib.train.ema`): its
# EMA generator with standing BatchNorm statistics, on the fixed codes of `seed`. Writes `result.json` last.

# %% tags=["parameters"]
checkpoint = "checkpoint.pt"  # a GGAN checkpoint.pt or a baseline gan/*_biggan.pt
kind = "ggan"                 # "ggan", "supervised_biggan" or "unsupervised_biggan" (checked against the file)
preset = "tiny"               # the preset the checkpoint must have been trained with
data = "fsdd"                 # "fsdd", "sc09" or a folder of {digit}_{speaker}_{index}.wav files
metric_classifier = "classifier.pt"  # IS / FID classifier (ggan_lib.metrics)
n_clips = 20                  # generated clips scored (paper / WaveGAN: 50,000)
n_real = 40                   # real training clips for the FID statistics and real-train IS (0: all)
n_splits = 10                 # IS splits
feature_kind = "spatial_mean"  # FID features: "penultimate", "spatial_mean" or "logits"
on_nonfinite = "report"       # NaN spectrograms: "report" (no scores) or "exclude" (score the rest)
seed = 0                      # latent codes and the real-clip subset
device = "cpu"                # "cpu", "cuda"
threads = 0                   # torch CPU threads (0: torch's default)
progress = True               # progress bars

# %%
import time
from pathlib import Path

from ggan_lib.experiments import reproduce as rp
from ggan_lib.experiments.zoo import load_model
from ggan_lib.metrics import load_classifier
from ggan_lib.metrics.accuracy import ggan_accuracy
from ggan_lib.metrics.train_classifier import heldout_summary

PARAMS = rp.params_from(globals(), "evaluate")
rp.set_threads(threads)
out, t0 = Path.cwd(), time.time()

# %%
gen = load_model(checkpoint, preset=preset, kind=kind)  # CheckpointMismatchError names both sides
clf = load_classifier(metric_classifier, device=device)
print(f"{gen.kind} from {gen.path}; sampling {gen.sampling}; classifier test accuracy {clf.test_accuracy}")

# %% [markdown]
# ## Real audio: FID references and the real-train / real-test rows of Table I
#
# The training clips give two references: raw, and sent through the preset's spectrogram + PGHI round
# trip. `is_roundtrip` is the IS the front end leaves of real speech (the ceiling for generated audio).

# %%
train_waves, _ = rp.load_waves(data, "train", n_real, seed)
test_waves, test_labels = rp.load_waves(data, "test", 0, seed)
score = dict(feature_kind=feature_kind, n_splits=n_splits, device=device)
real_train, refs = rp.real_reference(train_waves, clf, preset=preset, progress=progress, **score)
real_test = rp.score_real(test_waves, refs["roundtrip"], clf, preset=preset, raw_stats=refs["raw"],
                          labels=test_labels, **score)
print(f"real train IS {real_train['is']:.2f} (round trip {real_train['is_roundtrip']:.2f}), "
      f"real test IS {real_test['is']:.2f} (round trip {real_test['is_roundtrip']:.2f}); "
      f"real test FID {real_test['fid']:.2f} (round trip), {real_test['fid_raw']:.2f} (raw); "
      f"the classifier hears {100 * real_test['heard_as_label']:.1f} % of test clips as their digit "
      f"({100 * real_test['heard_as_label_roundtrip']:.1f} % after the round trip)")

# %% [markdown]
# ## Generated audio

# %%
specs = gen.sample(n_clips, seed=seed, batch_size=64, device=device).cpu()  # z: model.latent.fixed_codes
generated = rp.score_generated(specs, refs["roundtrip"], clf, raw_stats=refs["raw"], preset=preset,
                               on_nonfinite=on_nonfinite, progress=progress,
                               codes=rp.generated_codes(gen.kind, n_clips, gen.model_cfg.n_classes), **score)
print(generated)

# %%
acc = None
if gen.kind == "ggan":  # the GGAN's own classification path Cx(F(D(x_test)))
    X_test, y_test = rp.load_spectrograms(data, "test", preset)
    acc = ggan_accuracy(gen.model, X_test, y_test, device=device)
judge = heldout_summary(clf, gen.model_cfg.spec_shape, metric_classifier)  # unseen speakers: own or recipe's
rp.write_result(out, "evaluate", PARAMS, {"generated": generated, "real_train": real_train,
                                         "real_test": real_test, "accuracy": acc, "sampling": gen.sampling,
                                         "judge": judge},
                wall_s=time.time() - t0)
