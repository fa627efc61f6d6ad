"""Training the IS / FID metric classifier: augmentation, the training loop, predictions and accuracy.

The command line is ``python -m ggan_lib.cli.classifier --data <folder> --out <ckpt>`` (ggan_lib.cli.classifier);
the folder's clips come from :func:`ggan_lib.data.sources.load_digit_folder` (FSDD naming and split).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ggan_lib.audio import AudioConfig
from ggan_lib.io import atomic
from ggan_lib.metrics.classifier import ClassifierConfig, DigitClassifier, as_audio_tensor, load_classifier
from ggan_lib.metrics.scores import roundtrip_audio

HELDOUT_SHAPES = ((64, 32), (256, 128))  # the `small` and `paper` spectrograms: where generated audio stands
HELDOUT_OWN = "this classifier"  # heldout_summary's heldout_of when the figures are the classifier's own


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


def _epoch(model, opt, sched, x_all, y_all, batch_size: int, max_shift: int, gain_db: float,
           gen: torch.Generator, device, losses: list, bar) -> None:
    """One pass over the clips in a random order: augment, cross-entropy, Adam step, lr schedule step."""
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
    losses: list[float] = []
    bar = tqdm(total=steps, desc="train classifier", disable=not progress)
    for _ in range(epochs):
        _epoch(model, opt, sched, x_all, y_all, batch_size, max_shift, gain_db, gen, device, losses, bar)
    bar.close()
    return model.eval(), losses


def heldout_figures(model: DigitClassifier, audio, labels, speakers, shapes=HELDOUT_SHAPES,
                    device="cpu") -> dict:
    """The classifier's accuracy on clips of speakers it never heard: raw, and after the spectrogram + PGHI
    round trip at each of ``shapes`` (AudioConfig's inversion, floor gate included). Stored in the
    checkpoint's ``extra["heldout"]`` and printed beside IS / FID (:func:`heldout_summary`)."""
    out = {"speakers": sorted(speakers), "n": int(len(labels)), "raw": accuracy(model, audio, labels, device=device)}
    out["roundtrip"] = {f"{h}x{w}": accuracy(model, roundtrip_audio(audio, AudioConfig(spec_shape=(h, w))), labels,
                                            device=device) for h, w in shapes}
    return out


def recipe_heldout_path(path) -> Path:
    """The sidecar ``<classifier>.heldout.json`` beside a classifier checkpoint (:func:`write_recipe_heldout`)."""
    return Path(path).with_suffix(".heldout.json")


def write_recipe_heldout(path, sibling) -> Path:
    """For a classifier that heard every speaker (the shipped judge), record beside it the held-out-speaker
    figures of a sibling: the same ClassifierConfig trained without one or more speakers (its
    ``extra["heldout"]``, ``python -m ggan_lib.cli.classifier --test-speaker NAME``). That is the recipe's accuracy
    on a voice it never heard, the nearest honest estimate of the judge's own; :func:`heldout_summary` reads it
    and says whose figure it is. Raises ValueError when the settings differ or the sibling has no figures."""
    judge, sib = load_classifier(path), load_classifier(sibling)
    if sib.cfg != judge.cfg:
        raise ValueError(f"{sibling}: settings {sib.cfg} differ from {path}'s {judge.cfg}: not the same recipe")
    held = sib.extra.get("heldout")
    if not held:
        raise ValueError(f"{sibling}: no held-out-speaker figures (train it with --test-speaker NAME)")
    e, j = sib.extra, judge.extra
    of = (f"the same recipe trained without {', '.join(held['speakers'])} ({sibling}: {e.get('epochs')} epochs, "
          f"seed {e.get('seed')}, train accuracy {e.get('train_accuracy')}; this classifier: "
          f"{int(j.get('epochs', 0)) + int(j.get('prior_epochs', 0))} epochs on every speaker)")
    return atomic.write_text(recipe_heldout_path(path), json.dumps({"of": of, **held}, indent=1) + "\n")


def heldout_summary(model: DigitClassifier, spec_shape=None, path=None) -> dict:
    """What a results file records of the judge: its held-out-speaker accuracy raw and at ``spec_shape``'s
    round trip, and whose figures they are (``heldout_of``): the classifier's own (its checkpoint's
    ``extra["heldout"]``), else its recipe's (the sidecar of :func:`write_recipe_heldout` beside ``path``),
    else NaN (a classifier that heard every speaker, with no sibling recorded)."""
    held = model.extra.get("heldout") or {}
    of = HELDOUT_OWN if held else ""
    if not held and path is not None and recipe_heldout_path(path).is_file():
        held = json.loads(recipe_heldout_path(path).read_text())
        of = held.pop("of")
    key = None if spec_shape is None else f"{spec_shape[0]}x{spec_shape[1]}"
    return {"heldout_speakers": held.get("speakers", []), "heldout_raw": held.get("raw", math.nan),
            "heldout_roundtrip": (held.get("roundtrip") or {}).get(key, math.nan) if key else math.nan,
            "heldout_of": of}
