"""Train the IS / FID metric classifier on a spoken-digit folder and save a checkpoint.

    python -m ggan_lib.cli.classifier --data ../shared/data/fsdd/recordings \\
        --out models/metric_classifier_fsdd.pt

The folder holds ``{digit}_{speaker}_{index}.wav`` files (FSDD naming); the usual FSDD split is
used: take index 0-4 of every digit and speaker is the test set, the rest the training set.
The training itself is ggan_lib.metrics.train_classifier.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ggan_lib.data.sources import load_digit_folder
from ggan_lib.metrics.classifier import ClassifierConfig, load_classifier, save_classifier
from ggan_lib.metrics.train_classifier import accuracy, heldout_figures, train_classifier, write_recipe_heldout


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="folder of {digit}_{speaker}_{index}.wav files")
    p.add_argument("--out", help="checkpoint path (.pt)")
    p.add_argument("--heldout-from", default=None, metavar="SIBLING",
                   help="no training: record beside the --init classifier (one that heard every speaker) the "
                        "held-out-speaker figures of SIBLING, the same recipe trained with --test-speaker, as "
                        "<init>.heldout.json, which results print beside IS / FID as the recipe's")
    p.add_argument("--test-speaker", action="append", default=None, metavar="NAME",
                   help="test on every clip of this speaker (repeatable) and train on all clips of the others, "
                        "instead of FSDD's takes 0-4: the classifier's accuracy on a speaker it never heard")
    p.add_argument("--epochs", type=int, default=3, help="0: measure the --init classifier only (no training)")
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
    a = p.parse_args(argv)
    if a.heldout_from is None and not (a.data and a.out):
        p.error("--data and --out are required (unless --heldout-from SIBLING --init CKPT)")
    if a.heldout_from is not None and not a.init:
        p.error("--heldout-from SIBLING records beside a classifier: give it with --init")
    return a


def _load(args: argparse.Namespace):
    """(train clips, train labels, test clips, test labels) of --data, the training set cut to --limit."""
    x_tr, y_tr = load_digit_folder(args.data, "train", test_speakers=args.test_speaker)
    x_te, y_te = load_digit_folder(args.data, "test", test_speakers=args.test_speaker)
    if args.limit:
        keep = np.random.default_rng(args.seed).permutation(len(x_tr))[: args.limit]
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    return x_tr, y_tr, x_te, y_te


def _info(args: argparse.Namespace, n_train: int, n_test: int, init, train_acc: float, losses, t0: float) -> dict:
    """What the checkpoint records of its training (``extra``)."""
    return {"data": str(args.data), "test_speakers": list(args.test_speaker or []), "n_train": n_train,
            "n_test": n_test, "epochs": args.epochs,
            "batch_size": args.batch_size, "lr": args.lr, "max_shift": args.max_shift,
            "gain_db": args.gain_db, "seed": args.seed, "init": str(args.init or ""),
            "prior_epochs": int(init.extra.get("epochs", 0)) if init is not None else 0,
            "train_accuracy": train_acc,
            "final_loss": float(np.mean(losses[-20:])), "seconds": time.time() - t0}


def main(argv=None) -> float:
    """Load the folder, train, measure test accuracy, save the checkpoint; return the accuracy."""
    args = parse_args(argv)
    if args.heldout_from is not None:
        side = write_recipe_heldout(args.init, args.heldout_from)
        print(f"wrote {side}: {side.read_text()}")
        return load_classifier(args.init).test_accuracy
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    x_tr, y_tr, x_te, y_te = _load(args)
    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    cfg = ClassifierConfig(n_classes=n_classes, channels=args.channels)
    init = load_classifier(args.init, expect=cfg) if args.init else None
    if args.epochs == 0:  # measure only: the --init classifier, its training record kept
        if init is None:
            raise SystemExit("--epochs 0 measures an existing classifier: give it with --init")
        model, info = init, dict(init.extra)
    else:
        model, losses = train_classifier(x_tr, y_tr, cfg, epochs=args.epochs, batch_size=args.batch_size,
                                         lr=args.lr, max_shift=args.max_shift, gain_db=args.gain_db,
                                         seed=args.seed, device=args.device, init=init)
        info = _info(args, len(x_tr), len(x_te), init, accuracy(model, x_tr, y_tr, device=args.device), losses, t0)
    model.test_accuracy = accuracy(model, x_te, y_te, device=args.device)
    train_acc = info["train_accuracy"]
    if args.test_speaker:  # a speaker it never heard: raw and round-trip accuracy, printed beside IS / FID
        info["heldout"] = heldout_figures(model, x_te, y_te, args.test_speaker, device=args.device)
        print(f"held-out speaker(s) {info['heldout']['speakers']}: {info['heldout']}")
    path = save_classifier(model, args.out, extra=info)
    print(f"test accuracy {model.test_accuracy:.4f} (train {train_acc:.4f}) on {len(x_te)}/{len(x_tr)} "
          f"test/train clips; {info['seconds']:.0f} s; saved {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return model.test_accuracy


if __name__ == "__main__":
    main()
