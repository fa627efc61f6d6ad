"""``python -m ggan_lib <command>``: every command is reachable and shows its own options."""
import subprocess
import sys

import pytest

from ggan_lib.__main__ import COMMANDS, main


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"  {name}" in out


def test_unknown_command_is_an_error(capsys):
    assert main(["no-such-command"]) == 2
    assert "usage: python -m ggan_lib" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - {"book"}))
def test_command_help_runs(name):
    res = subprocess.run([sys.executable, "-m", "ggan_lib", name, "--help"], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert "usage:" in res.stdout
