"""The interpolation explorer's state and computation, without any widget (see explorer_state.py)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ggan_lib.book.explorer_models import load_model
from ggan_lib.book.explorer_state import ExplorerState
from ggan_lib.metrics.interpolation import interpolate_ze


class InterpolationState(ExplorerState):
    """Walk from ze_a = E(z, c_a) to ze_b = E(z, c_b): the path G(ze) and its PGHI audio, step by step.

    model: a Pretrained (or GGAN / Trainer / anything :func:`~ggan_lib.book.explorer_models.load_model`
    takes). class_names: one name per class of the model (default: its card's ``class_names`` or '0',
    '1', ...), e.g. the ten digits or ["male", "female"] for a gender-guided model. z_same=True keeps z
    fixed so that only the condition changes along the path; seed draws z.
    """

    def __init__(self, model: Any, class_names: Sequence[str] | None = None, *, class_a: int | str = 0,
                 class_b: int | str = 1, n_steps: int = 8, seed: int = 0, z_same: bool = True, n_gla: int = 0,
                 step: int = 0):
        self.pm = load_model(model)
        n = int(self.pm.model_cfg.n_classes)
        names = class_names if class_names is not None else (getattr(self.pm, "card", {}) or {}).get("class_names")
        self.class_names = [str(c) for c in names] if names is not None else [str(c) for c in range(n)]
        if len(self.class_names) != n:
            raise ValueError(f"the model has {n} classes but {len(self.class_names)} class names were given")
        if n_steps < 2:
            raise ValueError("n_steps must be >= 2")
        self.n_steps, self.seed, self.z_same, self.n_gla = int(n_steps), int(seed), bool(z_same), n_gla
        self.class_a, self.class_b = self._index(class_a), self._index(class_b)
        self.step = int(step)
        self._paths: dict[tuple, Any] = {}
        self._compute()
        self._check_step(self.step)

    def _index(self, c: int | str) -> int:
        """Class index of a name or an index."""
        if isinstance(c, str):
            if c not in self.class_names:
                raise KeyError(f"unknown class {c!r}; classes: {self.class_names}")
            return self.class_names.index(c)
        if not 0 <= int(c) < len(self.class_names):
            raise IndexError(f"class {c} out of range 0..{len(self.class_names) - 1}")
        return int(c)

    def _check_step(self, i: int) -> None:
        if not 0 <= int(i) < self.n_steps:
            raise IndexError(f"step {i} out of range 0..{self.n_steps - 1}")

    def _compute(self) -> None:
        """The current path (cached per classes, seed and z_same)."""
        key = (self.class_a, self.class_b, self.seed, self.z_same)
        if key not in self._paths:
            self._paths[key] = interpolate_ze(self.pm, self.class_a, self.class_b, self.n_steps, self.seed,
                                              self.z_same, n_gla=self.n_gla, class_names=self.class_names)
        self.path = self._paths[key]

    # ------------------------------------------------------------------ actions
    def set_classes(self, a: int | str | None = None, b: int | str | None = None) -> None:
        """Change one or both end classes (index or name); recomputes the path."""
        if a is not None:
            self.class_a = self._index(a)
        if b is not None:
            self.class_b = self._index(b)
        self._compute()
        self._changed(all_=True)

    def set_seed(self, seed: int) -> None:
        """Draw another z."""
        self.seed = int(seed)
        self._compute()
        self._changed(all_=True)

    def set_z_same(self, same: bool) -> None:
        """Same z at both ends (only the class changes) or two different z."""
        self.z_same = bool(same)
        self._compute()
        self._changed(all_=True)

    def set_step(self, i: int, autoplay: bool = False) -> None:
        """Move to step i of the path (0 = class a, n_steps - 1 = class b)."""
        self._check_step(i)
        self.step = int(i)
        self._changed(autoplay=autoplay)

    # ------------------------------------------------------------------ what a step shows
    @property
    def t(self) -> float:
        """Interpolation weight of the current step (0 .. 1)."""
        return float(self.path.t[self.step])

    @property
    def ends(self) -> tuple[str, str]:
        """Names of the two end classes."""
        return self.class_names[self.class_a], self.class_names[self.class_b]

    @property
    def shown_spectrogram(self) -> np.ndarray:
        """The generated (H, W) spectrogram of the current step."""
        return self.path.specs[self.step, 0].numpy()

    def step_audio(self, i: int | None = None) -> np.ndarray:
        """PGHI audio of step i (default: the current step)."""
        return self.path.audio[self.step if i is None else i].numpy()

    def step_labels(self) -> list[str]:
        """'t=0.00 (a)', 't=0.25', ..., 't=1.00 (b)': one label per step."""
        return [f"t={float(t):.2f}" + (f" ({self.ends[0]})" if i == 0 else f" ({self.ends[1]})"
                                       if i == self.n_steps - 1 else "") for i, t in enumerate(self.path.t)]

    def info(self) -> str:
        """One line: ends, step, t and smoothness."""
        s = self.path.spec_smoothness
        a = self.path.audio_smoothness
        text = (f"{self.ends[0]} → {self.ends[1]} (seed {self.seed}, {'same' if self.z_same else 'different'} z): "
                f"step {self.step}/{self.n_steps - 1}, t = {self.t:.2f}; spectrogram jump ratio "
                f"{s['jump_ratio']:.2f}")
        return text + (f", audio jump ratio {a['jump_ratio']:.2f}" if a else "")
