"""replace / to_dict / from_dict / preset: what every frozen config dataclass of the library shares."""
from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar


def _tuplify(value: Any) -> Any:
    """Lists (from JSON) back to tuples, recursively."""
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


class PresetConfig:
    """replace / to_dict / from_dict / preset for the project's frozen config dataclasses.

    A subclass sets ``_PRESETS`` (name -> instance) after its preset table is defined.
    """

    _PRESETS: ClassVar[dict[str, Any]] = {}

    def replace(self, **overrides: Any):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable) of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """Inverse of to_dict (lists become tuples; unknown keys are an error)."""
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise KeyError(f"unknown {cls.__name__} fields {sorted(unknown)}")
        return cls(**{k: _tuplify(v) for k, v in d.items()})

    @classmethod
    def preset(cls, name: str, **overrides: Any):
        """A named preset ('paper', 'small', 'tiny') with optional field overrides."""
        if name not in cls._PRESETS:
            raise KeyError(f"unknown preset {name!r}; choose from {sorted(cls._PRESETS)}")
        return cls._PRESETS[name].replace(**overrides) if overrides else cls._PRESETS[name]


# --------------------------------------------------------------------------- range checks
# a rule: (low, high, low_open, high_open); None for an unbounded side. Every number must be finite.
Range = tuple


def check_ranges(cfg: Any, rules: dict[str, Range]) -> None:
    """Raise ValueError naming each field of ``cfg`` outside its range (``rules``: field -> range) or not finite.

    Tuple fields (e.g. Adam's betas) are checked element by element.
    """
    errs = []
    for name, (lo, hi, lo_open, hi_open) in rules.items():
        value = getattr(cfg, name)
        for v in (value if isinstance(value, tuple) else (value,)):
            if not _in_range(v, lo, hi, lo_open, hi_open):
                left, right = "(" if lo_open else "[", ")" if hi_open else "]"
                span = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
                errs.append(f"{name}={value!r} (must be finite and in {span})")
                break
    if errs:
        raise ValueError(f"invalid {type(cfg).__name__}: " + "; ".join(errs))


def _in_range(v: Any, lo, hi, lo_open: bool, hi_open: bool) -> bool:
    """True when v is a finite real number within the bounds."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return False
    if lo is not None and (v < lo or (lo_open and v == lo)):
        return False
    return hi is None or not (v > hi or (hi_open and v == hi))


def positive(*, integer: bool = False) -> Range:
    """> 0 (>= 1 for integers)."""
    return (1, None, False, False) if integer else (0, None, True, False)


NONNEG: Range = (0, None, False, False)
UNIT: Range = (0, 1, False, False)          # [0, 1]
UNIT_OPEN_HI: Range = (0, 1, False, True)   # [0, 1)
POS: Range = positive()
POS_INT: Range = positive(integer=True)
