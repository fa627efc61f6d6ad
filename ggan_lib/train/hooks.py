"""What a trainer expects of an evaluation hook: the protocol ggan_lib.metrics.monitor.Monitor meets.

The trainer (ggan_lib.train.ggan.Trainer, ``monitor=``) calls the hook and never imports it, so the
training layer stays below the metrics layer: ``due`` says when to evaluate, ``evaluate`` scores the
trainer (it may call ``trainer.sample``, read ``trainer.model``, ``.mcfg``, ``.device``, ``.iteration``),
``update`` keeps the best-so-far rule and says whether the record is a new best, ``should_stop`` is
the early-stopping verdict, and the rest feeds the log, ``best.json`` and checkpoints.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class EvalHook(Protocol):
    """A periodic evaluation of a trainer (e.g. ggan_lib.metrics.monitor.Monitor).

    Optional: ``postfix(rec) -> dict[str, str]`` (short progress-bar entries of a record) and the
    attributes ``cfg.best_by``, ``best``, ``best_iter``, ``bad_evals`` for the early-stop message.
    """

    def due(self, iteration: int) -> bool:
        """True when the trainer should evaluate after this iteration."""

    def evaluate(self, trainer: Any) -> dict[str, float]:
        """Score the trainer now; the record's scalars (e.g. "eval/is")."""

    def update(self, iteration: int, rec: dict[str, float]) -> bool:
        """Record an evaluation; True when it is a new best (the trainer then saves best.pt)."""

    @property
    def should_stop(self) -> bool:
        """True when training should stop early."""

    def snapshot_media(self, iteration: int) -> tuple[dict, dict, int]:
        """(images, audio clips, sample rate) of the evaluation for the metric log."""

    def write_best_record(self, iteration: int, rec: dict[str, float], path: Path) -> None:
        """Describe the new best checkpoint at path (e.g. best.json beside it)."""

    def state_dict(self) -> dict[str, Any]:
        """The hook's state, saved in the trainer's checkpoint."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of state_dict."""


def postfix(hook: EvalHook, rec: dict[str, float]) -> dict[str, str]:
    """The hook's progress-bar entries for a record ({} when the hook has no ``postfix``)."""
    fn = getattr(hook, "postfix", None)
    return dict(fn(rec)) if callable(fn) else {}


def stop_message(hook: EvalHook, iteration: int) -> str:
    """Why training stopped early at iteration, from the hook's best-so-far bookkeeping where it has it."""
    best_by = getattr(getattr(hook, "cfg", None), "best_by", "?")
    return (f"[train] early stop at iteration {iteration}: {getattr(hook, 'bad_evals', '?')} evaluations "
            f"without a better eval/{best_by} than {getattr(hook, 'best', '?')} "
            f"(iteration {getattr(hook, 'best_iter', '?')})")
