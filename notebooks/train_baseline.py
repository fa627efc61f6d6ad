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
# # Train a baseline: supervised BigGAN, unsupervised BigGAN + ALI encoder, or the CNN
#
# Papermill notebook, run by `python -m ggan_lib.cli.reproduce` in its run folder (the cwd).
#
# * `method="supervised"`: conditional BigGAN on all labelled training data -> `gan/supervised_biggan.pt` (Table I).
# * `method="unsupervised"`: unconditional BigGAN, then its ALI encoder (G frozen) -> `gan/unsupervised_biggan.pt`,
#   `encoder/ali_encoder.pt` (Table I); with `fractions`, a latent classifier per fraction and draw (Table II).
# * `method="cnn"`: the CNN baseline per fraction and draw, trained on the labelled subset only (Table II).
#
# Writes `result.json` last.

# %% tags=["parameters"]
method = "cnn"       # "supervised", "unsupervised" or "cnn"
preset = "tiny"      # ModelConfig / BaselineConfig preset: "paper", "small" or "tiny"
data = "fsdd"        # "fsdd", "sc09" or a folder of {digit}_{speaker}_{index}.wav files
fractions = [0.05]   # labelled fractions for cnn and unsupervised (the 100 % CNN row: 1.0, one draw)
draws = 1            # label draws per fraction (paper: 5); draw d uses seed + d
seed = 0             # base seed
gan_iters = 2        # BigGAN G steps (supervised, unsupervised)
enc_iters = 2        # ALI encoder steps (unsupervised)
cnn_iters = 3        # CNN steps per draw
clf_iters = 3        # latent-classifier steps per draw (unsupervised)
device = "cpu"       # "cpu", "cuda", "auto"
threads = 0          # torch CPU threads (0: torch's default)
progress = True      # progress bars

# %%
import time
from pathlib import Path

from ggan_lib.config import ModelConfig
from ggan_lib.experiments import reproduce as rp
from ggan_lib.experiments.protocol import accuracy_protocol, ali_method, cnn_method
from ggan_lib.train.baselines import BaselineConfig, SupervisedGANTrainer, train_stage, train_unsupervised_baseline

PARAMS = rp.params_from(globals(), "train_baseline")
if method not in ("supervised", "unsupervised", "cnn"):
    raise ValueError(f"method must be 'supervised', 'unsupervised' or 'cnn', got {method!r}")
rp.set_threads(threads)
out, t0 = Path.cwd(), time.time()
mcfg = ModelConfig.preset(preset)
cfg = BaselineConfig.preset(preset, seed=seed, device=device, progress=progress)

# %%
X, y = rp.load_spectrograms(data, "train", preset, progress)
X_test, y_test = rp.load_spectrograms(data, "test", preset, progress)
print(f"{method}: train {tuple(X.shape)}, test {tuple(X_test.shape)}")
protocol = dict(fractions=fractions, n_draws=draws, seed=seed, device=device, progress=progress)
rows, files = [], {}

# %%
if method == "supervised":
    gan = train_stage(SupervisedGANTrainer(mcfg, cfg, X, y, out_dir=out / "gan"), gan_iters)  # resumes
    files["checkpoint"] = str(gan.save())
    files["resumed_from"] = {"gan": gan.resumed_from}
    gan.close()

# %%
if method == "unsupervised":
    files["resumed_from"] = {}  # the iteration each stage's training began at in this invocation (0: from scratch)
    G, encoder = train_unsupervised_baseline(mcfg, cfg, X, gan_iters, enc_iters, out_dir=out,
                                             resumed=files["resumed_from"])
    files["checkpoint"] = str(out / "gan" / "unsupervised_biggan.pt")
    files["encoder"] = str(out / "encoder" / "ali_encoder.pt")
    if fractions:
        rows = accuracy_protocol(ali_method(mcfg, cfg, encoder, clf_iters), X, y, X_test, y_test, **protocol).rows

# %%
if method == "cnn":
    rows = accuracy_protocol(cnn_method(mcfg, cfg, cnn_iters), X, y, X_test, y_test, **protocol).rows

# %%
for r in rows:
    print(f"{r['method']:>18} {r['fraction'] * 100:5.1f} % draw {r['draw']}: {r['accuracy']:.3f}")
rp.write_result(out, "train_baseline", PARAMS, {"rows": rows, "clf_ema_decay": cfg.clf_ema_decay},
                wall_s=time.time() - t0, **files)
