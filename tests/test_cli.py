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


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_help_runs(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_python_m_ggan_lib_runs():
    res = subprocess.run([sys.executable, "-m", "ggan_lib", "--help"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "commands:" in res.stdout
