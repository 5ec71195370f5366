"""The Pulumi entry point (``__main__.py``) turns every bad input into one RunError line (issue 12, item 8).

``__main__.py`` itself runs in-process under Pulumi's mock runtime, as the language host runs it: the stack file
is read from the working directory and the engine's config holds strings. Each bad file of
``tests/core/test_bad_files.py`` must stop it with exactly the line ``python -m access plan`` prints after
``error:``; anything unexpected is one line too, saying where to report it.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest

from access.errors import ISSUES_HINT
from access.stack import offline, pulumi_internals
from tests.core.test_bad_files import CASES, Case, plan, project
from tests.helpers import REPO

ENTRY_POINT = REPO / "__main__.py"
# What the engine would hand the program for the sample dev stack (strings, whatever the file says).
ENGINE_CONFIG = {
    "aws:region": "eu-west-1",
    "aws:allowedAccountIds": '["111122223333"]',
    "access:environment": "dev",
    "access:authMode": "config_map",
    "access:clusterSource": "existing",
}


def run_entry_point(root: Path, config: dict[str, str] | None = None) -> None:
    """``__main__.py`` of the repository, run from ``root`` as ``pulumi preview -s dev`` would run it."""
    mocks = offline.AccessMocks(offline.Fixtures())
    pulumi_internals.reset_runtime(project="eks-access", stack="dev")
    pulumi.runtime.set_mocks(mocks, project="eks-access", stack="dev", preview=True)
    pulumi.runtime.set_all_config(ENGINE_CONFIG if config is None else config)
    pulumi_internals.clear_pending()
    cwd = os.getcwd()
    os.chdir(root)

    def body() -> None:
        runpy.run_path(str(ENTRY_POINT), run_name="__main__")

    try:
        pulumi_internals.run_program(body)
    finally:
        os.chdir(cwd)


ENTRY_CASES = [c for c in CASES if not c.args]  # --config is a command-line option; the engine has no such thing


@pytest.mark.parametrize("case", ENTRY_CASES, ids=[c.id for c in ENTRY_CASES])
def test_bad_input_is_one_run_error_line_equal_to_the_cli_line(
    tmp_path: Path, case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_root = project(tmp_path / "cli")
    case.breakage(cli_root)
    cli_line = plan(cli_root, capsys=capsys)[2]
    root = project(tmp_path / "engine")
    case.breakage(root)
    with pytest.raises(pulumi.RunError) as stopped:
        run_entry_point(root)
    assert f"error: {stopped.value}\n" == cli_line == f"error: {case.expected}\n"


def test_the_sample_stack_runs_through_the_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exported: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", exported.__setitem__)
    run_entry_point(project(tmp_path))
    assert exported["environment"] == "dev" and exported["clusterName"] == "eks-dev"


def test_an_unexpected_error_in_the_program_is_one_line_saying_where_to_report_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from access.stack import program

    def broken() -> dict[str, Any]:
        raise KeyError("roles")

    monkeypatch.setattr(program, "main", broken)
    with pytest.raises(pulumi.RunError) as stopped:
        run_entry_point(project(tmp_path))
    assert str(stopped.value) == f"unexpected KeyError: 'roles'; {ISSUES_HINT}"


def test_an_unexpected_error_inside_an_apply_is_one_line_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Errors raised while the engine resolves values (the live aws-auth merge) bypass __main__'s try: the apply
    callbacks convert them themselves, since the language host prints a traceback for anything but a RunError."""
    from access.core import awsauth

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("line one\nline two")

    monkeypatch.setattr(awsauth, "merge", broken)
    with pytest.raises(pulumi.RunError) as stopped:
        run_entry_point(project(tmp_path))
    assert str(stopped.value) == f"unexpected ValueError: line one line two; {ISSUES_HINT}"


def test_a_type_the_engine_hides_is_still_caught_in_the_stack_file(tmp_path: Path) -> None:
    """The engine hands the program "42" for ``access:environment: 42``; the file's own type is what counts."""
    root = project(tmp_path)
    stack = root / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace("access:environment: dev", "access:environment: 42"))
    with pytest.raises(pulumi.RunError) as stopped:
        run_entry_point(root, {**ENGINE_CONFIG, "access:environment": "42"})
    assert str(stopped.value) == (
        "Pulumi.dev.yaml: config.access:environment: must be a string (the environment id this stack applies, "
        "e.g. dev), found number 42"
    )


def test_under_the_real_engine_the_line_is_logged_and_the_exit_code_says_it_was_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exit code 32 makes the Python language host bail without its own "program exited with non-zero exit code"
    line, so the user sees exactly the one line logged (a RunError would exit 1 and get that second line)."""
    from access.errors import ConfigError
    from access.stack import run_errors

    logged: list[str] = []
    monkeypatch.setattr(run_errors.pulumi_internals, "under_mocks", lambda: False)
    monkeypatch.setattr(pulumi.log, "error", logged.append)
    with pytest.raises(SystemExit) as exited:
        run_errors.stop(ConfigError("config/teams.yaml", "teams", "must be a mapping, found a list"))
    assert exited.value.code == run_errors.MESSAGE_SHOWN == 32
    assert logged == ["config/teams.yaml: teams: must be a mapping, found a list"]
