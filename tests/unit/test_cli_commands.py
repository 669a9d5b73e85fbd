"""The ``gonogo`` command finds its subcommands through entry points: the
sandbox distribution adds ``sandbox`` and ``demo`` without the product
importing it, and without it installed the command says how to get them."""

from __future__ import annotations

from importlib.metadata import EntryPoints

import pytest
from gonogo import cli


def test_the_sandbox_distribution_adds_its_commands() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"check", "rbac", "sandbox", "demo"} <= set(sub.choices)


def test_without_the_sandbox_distribution_the_command_names_the_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "entry_points", lambda group: EntryPoints(()))
    assert cli.main(["sandbox", "up"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "'gonogo sandbox' comes with the gonogo-sandbox distribution" in err
    assert "pip install -e sandbox" in err


def test_an_unknown_command_is_still_argparse_s_usage_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "entry_points", lambda group: EntryPoints(()))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["frobnicate"])
    assert exit_info.value.code == 2
