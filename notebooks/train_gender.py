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
# # Gender guidance from another corpus (paper IV-C, V)
#
# Papermill notebook, run in its run folder (the cwd). Trains a GGAN whose unlabelled set (`unlabelled`:
# SC09 digits in the paper, FSDD offline) and guidance set (`guidance`: LibriSpeech gender, 50 male + 50
# female speakers, prepared by `data_scripts/prepare_librispeech_gender.py`; or the offline espeak-ng
# voices) are independent, n = 2 classes (0 = male, 1 = female); then measures it with
# `ggan_lib.experiments.gender_measure.measure`: an independent gender classifier on held-out speakers applied to the same
# latent codes generated with c = male and c = female, F0 (pyin) and spectral centroid per c, digit IS /
# FID with the project's metric classifier. Writes `checkpoint.pt`, `log.jsonl`, `model.pt` (+ card),
# `metrics.json`, `summary.md`, audio and figures, and, last, `result.json`.
#
# The paper's run: `preset="paper"`, `unlabelled="sc09"`, `guidance="librispeech"`, on a GPU
# (paper: IS 6.52 +- 0.5, FID 26.21 +- 0.1 after 33 h on 2 x P100).

# %% tags=["parameters"]
preset = "tiny"               # ModelConfig / TrainConfig preset: "paper", "small" or "tiny"
unlabelled = "fsdd"           # "sc09", "fsdd" or a folder of {digit}_{speaker}_{index}.wav files
guidance = "voices"           # "librispeech", "voices" (espeak-ng words) or a folder with labels.csv (gender)
test_voices_per_class = 0     # guidance speakers per gender held out for the gender classifier (0: 2 voices / 5 speakers)
iters = 2                     # total Algorithm-1 iterations (a rerun in the same folder resumes up to this)
eval_every = 0                # monitor (IS, held-out gender accuracy, snapshots) every N iterations (0: never)
n_eval = 8                    # generated clips per c for the final measures
metric_classifier = "default" # digit IS / FID classifier: "default" (models/metric_classifier_fsdd.pt), a path or "none"
seed = 0                      # seed of the network init, noise and speaker split
device = "cpu"                # "cpu", "cuda", "auto"
threads = 0                   # torch CPU threads (0: torch's default)
progress = True               # progress bars

# %%
import json
import os
import time
from pathlib import Path

from IPython.display import Image, Markdown, display

from ggan_lib.book import gender_report
from ggan_lib.cli import gender as gender_cli
from ggan_lib.experiments import reproduce as rp

PARAMS = rp.params_from(globals(), "train_gender")
rp.set_threads(threads)
out, t0 = Path.cwd(), time.time()

# %% [markdown]
# ## Train (resumable), export, measure: one call of the offline command's code

# %%
smoke = preset == "tiny"
argv = ["--preset", preset, "--iters", str(iters), "--unlabelled", unlabelled, "--guidance", guidance,
        "--out", str(out), "--run-dir", str(out), "--export", str(out / "model.pt"), "--seed", str(seed),
        "--device", device, "--eval-every", str(eval_every), "--n-eval", str(n_eval),
        "--progress", str(progress).lower(), "--workers", str(threads or os.cpu_count() or 1)]
if test_voices_per_class:
    argv += ["--test-voices-per-class", str(test_voices_per_class)]
if metric_classifier != "default":
    argv += ["--metric-classifier", metric_classifier]
if threads:
    argv += ["--threads", str(threads)]
if smoke:  # seconds-long smoke runs: few reference clips, one classifier epoch
    argv += ["--n-ref", "4", "--n-real", "20", "--classifier-epochs", "1"]
gender_cli.main(argv)
metrics = json.loads((out / "metrics.json").read_text())

# %% [markdown]
# ## Results

# %%
display(Markdown((out / "summary.md").read_text()))
display(Image(str(out / "f0_centroid.png")))
display(Image(str(out / "pairs.png")))

# %%
g, d = metrics["generated"], metrics.get("digits", {})
summary = {"gender_accuracy": g["gender_accuracy"], "heard_female": g["fraction_heard_female"],
           "centroid_median_hz": {k: v["median"] for k, v in g["centroid_stats"].items()},
           "f0_median_hz": {k: v["median"] for k, v in g["f0_stats"].items()},
           "classifier_heldout_acc": metrics["gender_classifier"]["acc_heldout_words"],
           "digit_is": d.get("all", {}).get("is"), "digit_fid": d.get("all", {}).get("fid"),
           "iteration": metrics["training"]["iteration"], "verdict": gender_report.verdict(metrics)}
rp.write_result(out, "train_gender", PARAMS, summary, checkpoint=str(out / "checkpoint.pt"),
                model=str(out / "model.pt"), wall_s=time.time() - t0)
print(summary["verdict"])
