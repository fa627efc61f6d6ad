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
# # Train a GGAN (Algorithm 1) guided by one label draw
#
# Papermill notebook, run by `python -m ggan_lib.cli.reproduce` in its run folder (the cwd). Trains on the
# whole training split with `fraction` of its labels (draw `draw`) as guidance, then scores
# Cx(F(D(x_test))) on the test split (Table II). Writes `checkpoint.pt` (every `ckpt_every` iterations),
# `log.jsonl` and, last, `result.json`. A run stopped part-way continues from its `checkpoint.pt` when
# the runner starts it again, exactly as if it had never stopped (`Trainer.resume` is bit-exact).

# %% tags=["parameters"]
preset = "tiny"      # ModelConfig / TrainConfig preset: "paper", "small" or "tiny"
data = "fsdd"        # "fsdd", "sc09" or a folder of {digit}_{speaker}_{index}.wav files
fraction = 0.05      # labelled fraction of the training split guiding the GGAN (paper: 0.01-0.05)
draw = 0             # which seeded label draw: labels drawn with seed + draw (data.splits.draw_seed)
seed = 0             # base seed (labels, network init and noise use seed + draw)
iters = 2            # Algorithm-1 iterations
device = "cpu"       # "cpu", "cuda", "auto"
threads = 0          # torch CPU threads (0: torch's default)
progress = True      # progress bars
ckpt_every = 100     # write checkpoint.pt every N iterations, so a stopped run loses at most N (0: only at the end)

# %%
import time
from pathlib import Path

import torch

from ggan_lib.data.splits import draw_indices, draw_seed
from ggan_lib.experiments import reproduce as rp
from ggan_lib.metrics.accuracy import ggan_accuracy

PARAMS = rp.params_from(globals(), "train_ggan")
rp.set_threads(threads)
out, t0 = Path.cwd(), time.time()

# %% [markdown]
# ## Data: unlabelled training split, one labelled draw, the test split

# %%
X, y = rp.load_spectrograms(data, "train", preset, progress)
X_test, y_test = rp.load_spectrograms(data, "test", preset, progress)
idx = torch.from_numpy(draw_indices(y, fraction, draw, seed))
print(f"train {tuple(X.shape)}, labelled {len(idx)} ({fraction:.0%}, draw {draw}), test {tuple(X_test.shape)}")

# %% [markdown]
# ## Algorithm 1

# %%
run_cfg = {k: PARAMS[k] for k in ("preset", "data", "fraction", "draw", "seed")}  # a resume must match these
trainer = rp.ggan_trainer_for_run(out, iters, run_cfg, X, X[idx], y[idx], device=device, progress=progress,
                                  ckpt_every=ckpt_every)
resumed_from = trainer.iteration
last = trainer.train(iters - trainer.iteration)
checkpoint = trainer.save()
trainer.close()
print({k: round(v, 4) for k, v in last.items()})

# %% [markdown]
# ## Representation accuracy Cx(F(D(x_test))) and the result
#
# `Trainer.classifier()`: the last iterate, as every method of Table II is scored (`clf_ema_decay` = 0; an
# average of D, F and Cx was tried on a validation speaker and not adopted, `results/diag`).

# %%
acc = ggan_accuracy(trainer, X_test, y_test, device=trainer.device)  # its scored path (Trainer.classifier)
rows = [{"method": "GGAN", "fraction": fraction, "draw": draw, "seed": draw_seed(seed, draw), "n_labelled": len(idx),
         "accuracy": acc}]
rp.write_result(out, "train_ggan", PARAMS, {"accuracy": acc, "rows": rows, "iteration": trainer.iteration,
                                           "last_losses": last, "clf_ema_decay": trainer.cfg.clf_ema_decay},
                checkpoint=str(checkpoint), wall_s=time.time() - t0, resumed_from=resumed_from)
print(f"test accuracy {acc:.3f}")
