"""replace / to_dict / from_dict / preset: what every frozen config dataclass of the library shares."""
from __future__ import annotations

import dataclasses
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
