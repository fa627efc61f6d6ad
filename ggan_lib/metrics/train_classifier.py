"""Train the IS / FID metric classifier on a spoken-digit folder and save a checkpoint.

    python -m ggan_lib.cli.classifier --data ../shared/data/fsdd/recordings \\
        --out models/metric_classifier_fsdd.pt

The folder holds ``{digit}_{speaker}_{index}.wav`` files (FSDD naming); the usual FSDD split is
used: take index 0-4 of every digit and speaker is the test set, the rest the training set.
"""
from __future__ import annotations

import argparse
import math
import re
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ggan_lib.audio import AudioConfig, load_audio
from ggan_lib.metrics.classifier import (ClassifierConfig, DigitClassifier, as_audio_tensor, load_classifier,
                         save_classifier)

_NAME = re.compile(r"^(?P<digit>\d+)_(?P<speaker>[^_]+)_(?P<index>\d+)$")
TEST_INDICES = range(0, 5)  # FSDD's own convention: takes 0-4 of each digit and speaker are test


def list_digit_folder(folder, split: str) -> list[tuple[Path, int]]:
    """(path, digit) of every `{digit}_{speaker}_{index}.wav` in `folder` for split 'train'/'test'/'all'."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    items = []
    for path in sorted(folder.glob("*.wav")):
        m = _NAME.match(path.stem)
        if m is None:
            continue
        is_test = int(m["index"]) in TEST_INDICES
        if split == "all" or (split == "test") == is_test:
            items.append((path, int(m["digit"])))
    if not items:
        raise FileNotFoundError(f"{folder}: no `{{digit}}_{{speaker}}_{{index}}.wav` files "
                                f"for split {split!r}")
    return items


def load_digit_folder(folder, split: str, cfg: AudioConfig = AudioConfig(),
                      progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Waveforms (N, L) float32 via ggan_lib.audio.load_audio and digit labels (N,) int64 of one split."""
    items = list_digit_folder(folder, split)
    waves = np.empty((len(items), cfg.signal_length), dtype=np.float32)
    with warnings.catch_warnings():
        # clips longer than 1 s are cut to the first second, as everywhere in the project
        warnings.filterwarnings("ignore", message=r".*cut to the first")
        for i, (path, _) in enumerate(tqdm(items, desc=f"load {split}", disable=not progress)):
            waves[i] = load_audio(path, cfg)
    labels = np.array([d for _, d in items], dtype=np.int64)
    return waves, labels


def augment(audio: torch.Tensor, max_shift: int, gain_db: float, gen: torch.Generator) -> torch.Tensor:
    """Random time shift (zero fill, up to +-max_shift samples) and random gain (+-gain_db) per clip."""
    B, L = audio.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (B,), generator=gen).tolist()
    out = torch.zeros_like(audio)
    for i, s in enumerate(shifts):
        if s >= 0:
            out[i, s:] = audio[i, : L - s]
        else:
            out[i, :s] = audio[i, -s:]
    gains = 10 ** ((torch.rand(B, 1, generator=gen) * 2 - 1) * gain_db / 20)
    return out * gains.to(audio.device)


@torch.no_grad()
def predict(model: DigitClassifier, audio, batch_size: int = 64, device="cpu") -> np.ndarray:
    """Predicted class index (N,) of audio (N, L), in batches, eval mode."""
    model.eval()
    preds = [model.logits(as_audio_tensor(audio[i:i + batch_size], device)).argmax(1).cpu()
             for i in range(0, len(audio), batch_size)]
    return torch.cat(preds).numpy()


def accuracy(model: DigitClassifier, audio, labels, batch_size: int = 64, device="cpu") -> float:
    """Fraction of clips classified correctly."""
    return float((predict(model, audio, batch_size, device) == np.asarray(labels)).mean())


def train_classifier(audio, labels, cfg: ClassifierConfig = ClassifierConfig(), *, epochs: int = 3,
                     batch_size: int = 32, lr: float = 1e-3, max_shift: int = 1600,
                     gain_db: float = 6.0, seed: int = 0, device="cpu", class_names=None,
                     init: DigitClassifier | None = None,
                     progress: bool = True) -> tuple[DigitClassifier, list[float]]:
    """Train a DigitClassifier (Adam, cosine-decayed lr, augmentation); return it and per-step losses.

    `init` continues training an existing classifier (its settings must equal `cfg`).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    if init is not None and init.cfg != cfg:
        raise ValueError(f"init classifier settings {init.cfg} differ from {cfg}")
    model = (init if init is not None else DigitClassifier(cfg, class_names)).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(len(audio) / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    x_all = torch.as_tensor(np.asarray(audio, dtype=np.float32))
    y_all = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    losses = []
    bar = tqdm(total=steps, desc="train classifier", disable=not progress)
    for _ in range(epochs):
        order = torch.randperm(len(x_all), generator=gen)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            x = augment(x_all[idx], max_shift, gain_db, gen).to(device)
            loss = nn.functional.cross_entropy(model.logits(x), y_all[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
            bar.update()
    bar.close()
    return model.eval(), losses


def _parse(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="folder of {digit}_{speaker}_{index}.wav files")
    p.add_argument("--out", required=True, help="checkpoint path (.pt)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-shift", type=int, default=1600, help="augmentation: max time shift, samples")
    p.add_argument("--gain-db", type=float, default=6.0, help="augmentation: max gain change, dB")
    p.add_argument("--channels", type=int, default=ClassifierConfig.channels, help="conv width (recipe: 128)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N training clips (0 = all)")
    p.add_argument("--init", default=None, help="checkpoint to continue training from")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    return p.parse_args(argv)


def main(argv=None) -> float:
    """Load the folder, train, measure test accuracy, save the checkpoint; return the accuracy."""
    args = _parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    x_tr, y_tr = load_digit_folder(args.data, "train")
    x_te, y_te = load_digit_folder(args.data, "test")
    if args.limit:
        keep = np.random.default_rng(args.seed).permutation(len(x_tr))[: args.limit]
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    cfg = ClassifierConfig(n_classes=n_classes, channels=args.channels)
    init = load_classifier(args.init, expect=cfg) if args.init else None
    model, losses = train_classifier(x_tr, y_tr, cfg, epochs=args.epochs, batch_size=args.batch_size,
                                     lr=args.lr, max_shift=args.max_shift, gain_db=args.gain_db,
                                     seed=args.seed, device=args.device, init=init)
    model.test_accuracy = accuracy(model, x_te, y_te, device=args.device)
    train_acc = accuracy(model, x_tr, y_tr, device=args.device)
    info = {"data": str(args.data), "n_train": len(x_tr), "n_test": len(x_te), "epochs": args.epochs,
            "batch_size": args.batch_size, "lr": args.lr, "max_shift": args.max_shift,
            "gain_db": args.gain_db, "seed": args.seed, "init": str(args.init or ""),
            "prior_epochs": int(init.extra.get("epochs", 0)) if init is not None else 0,
            "train_accuracy": train_acc,
            "final_loss": float(np.mean(losses[-20:])), "seconds": time.time() - t0}
    path = save_classifier(model, args.out, extra=info)
    print(f"test accuracy {model.test_accuracy:.4f} (train {train_acc:.4f}) on {len(x_te)}/{len(x_tr)} "
          f"test/train clips; {info['seconds']:.0f} s; saved {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return model.test_accuracy


if __name__ == "__main__":
    main()
