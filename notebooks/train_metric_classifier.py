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
# # Train the IS / FID metric classifier
#
# Papermill notebook, run by `python -m ggan_lib.cli.reproduce` in its run folder (the cwd). The WaveGAN
# recipe (design note 5) on the training split's audio; test accuracy on the test split. Writes
# `classifier.pt` and, last, `result.json`.

# %% tags=["parameters"]
data = "fsdd"        # "fsdd", "sc09" or a folder of {digit}_{speaker}_{index}.wav files
epochs = 1           # passes over the training split (the shipped FSDD classifier: 6)
batch_size = 32      # clips per step
lr = 1e-3            # Adam learning rate (cosine-decayed)
channels = 128       # conv width (recipe: 128; tiny runs: 4)
limit = 0            # use only this many training clips (0: all)
seed = 0             # shuffling, augmentation and init
device = "cpu"       # "cpu", "cuda"
threads = 0          # torch CPU threads (0: torch's default)
progress = True      # progress bars

# %%
import time
from pathlib import Path

from ggan_lib.experiments import reproduce as rp
from ggan_lib.metrics import ClassifierConfig, save_classifier
from ggan_lib.metrics.train_classifier import accuracy, train_classifier

PARAMS = rp.params_from(globals(), "train_metric_classifier")
rp.set_threads(threads)
out, t0 = Path.cwd(), time.time()

# %%
x_tr, y_tr = rp.load_waves(data, "train", limit, seed, progress)
x_te, y_te = rp.load_waves(data, "test", 0, seed, progress)
print(f"train {x_tr.shape}, test {x_te.shape}")

# %%
cfg = ClassifierConfig(channels=channels)
model, losses = train_classifier(x_tr, y_tr, cfg, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                                 device=device, progress=progress)
test_acc, train_acc = accuracy(model, x_te, y_te, device=device), accuracy(model, x_tr, y_tr, device=device)
path = save_classifier(model, out / "classifier.pt", test_accuracy=test_acc,
                       extra={**PARAMS, "n_train": len(x_tr), "n_test": len(x_te), "train_accuracy": train_acc})
print(f"test accuracy {test_acc:.3f} (train {train_acc:.3f}); saved {path}")

# %%
rp.write_result(out, "train_metric_classifier", PARAMS,
                {"test_accuracy": test_acc, "train_accuracy": train_acc, "final_loss": losses[-1]},
                checkpoint=str(path), wall_s=time.time() - t0)
