"""Issue 14, item 5: the text plan a person reads. A large stack prints a summary whose length does not grow with
the organisation; ``--full`` prints everything, ``--principal``/``--namespace`` narrow it; a small stack (the
README's ``make plan``) prints whole; progress goes to stderr only when a person watches a terminal."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from access.commands.cli import main
from access.commands.plan import command, render
from bench.make_org import OrgShape, make_org
from tests.helpers import ConfigTree

MID = OrgShape(teams=8, users=40, teams_per_user=(1, 2), projects=30, environments=1, seed=3)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An organisation of bench/make_org.py past the summary threshold (30 project-environments, 40 users)."""
    root = tmp_path_factory.mktemp("large")
    make_org(root, MID)
    return root


def plan_json(root: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["plan", "--stack", "dev", "--project-dir", str(root), "--format", "json"]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def text(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["plan", "--stack", "dev", "--project-dir", str(root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def inflated(doc: dict[str, Any], times: int) -> dict[str, Any]:
    """The same stack ``times`` over: every access row and RBAC object repeated under new principal names."""
    bigger = copy.deepcopy(doc)
    bigger["access"] = [{**row, "principal": f"{row['principal']}-{i}"} for i in range(times) for row in doc["access"]]
    bigger["rbac"] = doc["rbac"] * times
    return bigger


def test_a_large_stack_prints_a_summary_that_does_not_grow_with_it(
    large: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = large
    doc = plan_json(root, capsys)
    assert render.is_large(doc)
    code, out, _ = text(root, capsys)
    assert code == 0
    assert f"Summary of {len(doc['access'])} effective-access rows and {len(doc['rbac'])} RBAC objects" in out
    for section in ("Resources (", "IAM roles (", "Dangerous access", "Cluster-wide access", "Widest access"):
        assert section in out
    assert f"human      │ {sum(r['kind'] == 'human' for r in doc['roles'])}" in out
    assert "Effective access (who can do what, where)" not in out
    render.print_summary(inflated(doc, 20))  # 20 times the rows: the same number of lines
    assert len(capsys.readouterr().out.splitlines()) == len(out.splitlines()) <= 120


def test_full_prints_every_row(large: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = large
    doc = plan_json(root, capsys)
    code, out, _ = text(root, capsys, "--full")
    assert code == 0
    assert "Effective access (who can do what, where)" in out and "aws-auth mapRoles" in out
    assert {row["principal"] for row in doc["access"] if len(row["principal"]) < 25} <= set(out.split())


def test_principal_and_namespace_filters(large: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = large
    doc = plan_json(root, capsys)
    person = next(r["principal"] for r in doc["access"] if r["principal"].startswith("user-"))
    rows = [r for r in doc["access"] if r["principal"] == person]
    code, out, _ = text(root, capsys, "--principal", person.upper())  # IAM names are case-insensitive
    assert code == 0
    others = {r["principal"] for r in doc["access"]} - {person}
    assert person in out and not any(f"│ {o} " in out for o in others)
    assert all(r["namespace"] in out for r in rows)
    namespace = rows[0]["namespace"]
    code, out, _ = text(root, capsys, "--namespace", namespace)
    assert code == 0
    elsewhere = {r["namespace"] for r in doc["access"]} - {namespace, "*"}
    assert namespace in out and not any(ns in out for ns in elsewhere)
    assert text(root, capsys, "--principal", "nobody") == (
        2,
        "",
        "error: --principal nobody: no access in stack dev (names as in the plan)\n",
    )


def test_filters_are_for_text_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = ConfigTree(tmp_path).project()
    assert text(root, capsys, "--format", "json", "--full") == (
        2,
        "",
        "error: --full, --principal and --namespace shape the text output; --format json is whole\n",
    )


def test_a_small_stack_prints_whole_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's `make plan` section describes this output: the sample's dev stack is small."""
    root = ConfigTree(tmp_path).project()
    assert not render.is_large(plan_json(root, capsys))
    code, out, err = text(root, capsys)
    assert (code, err) == (0, "")
    assert text(root, capsys, "--full") == (0, out, "")
    assert "aws-auth mapRoles" in out and "Effective access (who can do what, where)" in out


class FakeStatus:
    def __init__(self, log: list[str], message: str) -> None:
        self.log = log
        log.append(f"created {message}")

    def start(self) -> None:
        self.log.append("start")

    def stop(self) -> None:
        self.log.append("stop")

    def update(self, message: str) -> None:
        self.log.append(f"update {message}")


@pytest.fixture
def statuses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import rich.console

    log: list[str] = []
    monkeypatch.setattr(rich.console.Console, "status", lambda self, message, **kw: FakeStatus(log, message))
    return log


def test_progress_on_a_terminal_after_a_delay(monkeypatch: pytest.MonkeyPatch, statuses: list[str]) -> None:
    monkeypatch.setattr(command.sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with command.progress("dev", after=0.0) as say:
        time.sleep(0.2)
        say("running the program")
    assert statuses == ["created dev: loading and checking config…", "start", "update dev: running the program…",
                        "stop"]  # fmt: skip


def test_a_quick_run_shows_no_progress(monkeypatch: pytest.MonkeyPatch, statuses: list[str]) -> None:
    monkeypatch.setattr(command.sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with command.progress("dev", after=60.0) as say:
        say("running the program")
    assert "start" not in statuses


@pytest.mark.parametrize("terminal, ci", [(False, None), (True, "true")])
def test_no_progress_unless_a_person_watches_a_terminal(
    monkeypatch: pytest.MonkeyPatch, statuses: list[str], terminal: bool, ci: str | None
) -> None:
    monkeypatch.setattr(command.sys.stderr, "isatty", lambda: terminal, raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with command.progress("dev", after=0.0) as say:
        time.sleep(0.1)
        say("running the program")
    assert statuses == []
