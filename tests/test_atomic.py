"""ggan_lib.io.atomic: a write either replaces the file whole or leaves it untouched."""
import json

import pytest
import torch

from ggan_lib.io import atomic


def test_write_text_json_and_torch_replace_whole_files(tmp_path):
    p = atomic.write_text(tmp_path / "a" / "x.txt", "hello")
    assert p.read_text() == "hello" and oct(p.stat().st_mode & 0o777) == "0o644"
    atomic.write_json(tmp_path / "r.json", {"acc": 0.5})
    assert json.loads((tmp_path / "r.json").read_text()) == {"acc": 0.5}
    atomic.torch_save({"w": torch.ones(3)}, tmp_path / "m.pt", durable=True)
    assert torch.equal(torch.load(tmp_path / "m.pt", weights_only=True)["w"], torch.ones(3))
    assert sorted(f.name for f in tmp_path.iterdir()) == ["a", "m.pt", "r.json"]  # no temporaries left


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = atomic.write_text(tmp_path / "keep.txt", "old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic.atomic_write(target, "w") as fh:
            fh.write("half a new fi")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["keep.txt"]


def test_bad_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic.atomic_write(tmp_path / "x", "a"):
            pass
