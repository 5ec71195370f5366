"""Issue 14, item 3: the cyclic garbage collector is paused while a program registers its resources, and restored
afterwards (also when the run fails); under the real engine what the program declared is frozen instead."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from access.stack import collector, offline, program
from tests.core.test_bad_files import project
from tests.stack.test_entry_point import run_entry_point


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    """Every test starts with collection on (as a process does) and leaves it on, whatever it did."""
    gc.enable()
    yield
    gc.enable()


def test_paused_turns_collection_off_inside_and_back_on_after() -> None:
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_restores_collection_when_the_block_raises() -> None:
    with pytest.raises(KeyError), collector.paused():
        raise KeyError("boom")
    assert gc.isenabled()


def test_paused_keeps_collection_off_when_it_was_off_before() -> None:
    gc.disable()
    with collector.paused():
        pass
    assert not gc.isenabled()


def test_the_offline_runner_registers_with_collection_paused(tmp_path: Path) -> None:
    seen: list[bool] = []

    def bare() -> dict[str, Any]:
        seen.append(gc.isenabled())

        def resolved(value: str) -> str:
            seen.append(gc.isenabled())
            return value

        return {"x": pulumi.Output.from_input("x").apply(resolved)}

    run = offline.run_program(project(tmp_path), "dev", program=bare)
    assert run.outputs == {"x": "x"}
    assert seen == [False, False]  # the declaration and the registration's callbacks alike
    assert gc.isenabled()


def test_the_offline_runner_restores_collection_when_the_program_fails(tmp_path: Path) -> None:
    def broken() -> dict[str, Any]:
        assert not gc.isenabled()
        raise ValueError("broken program")

    with pytest.raises(ValueError, match="broken program"):
        offline.run_program(project(tmp_path), "dev", program=broken)
    assert gc.isenabled()


def test_the_real_program_declares_with_collection_paused_and_freezes_under_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``__main__.py`` as the language host runs it: ``main`` pauses collection while it declares and,
    under the real engine (not under mocks), freezes what it declared before collection resumes."""
    states: list[bool] = []
    frozen: list[bool] = []
    declare = program.EnvironmentIam

    def recording(*args: Any, **kwargs: Any) -> Any:
        states.append(gc.isenabled())
        return declare(*args, **kwargs)

    monkeypatch.setattr(program, "EnvironmentIam", recording)
    monkeypatch.setattr(program.pulumi_internals, "under_mocks", lambda: False)
    monkeypatch.setattr(collector, "freeze_declared", lambda: frozen.append(gc.isenabled()))
    monkeypatch.setattr(pulumi, "export", lambda key, value: None)
    run_entry_point(project(tmp_path))
    assert states == [False]
    assert frozen == [False]  # frozen before collection resumes
    assert gc.isenabled()


def test_under_mocks_the_program_does_not_freeze(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests and ``plan`` run programs one after another in one process: a freeze would keep every run's garbage."""
    frozen: list[bool] = []
    monkeypatch.setattr(collector, "freeze_declared", lambda: frozen.append(True))
    offline.run_program(project(tmp_path), "dev")
    assert frozen == []
    assert gc.isenabled()


def test_a_refused_config_restores_collection_and_freezes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen: list[bool] = []
    monkeypatch.setattr(program.pulumi_internals, "under_mocks", lambda: False)
    monkeypatch.setattr(collector, "freeze_declared", lambda: frozen.append(True))
    root = project(tmp_path)
    (root / "config" / "teams.yaml").write_text("teams: [a list]\n")
    with pytest.raises(BaseException):  # noqa: B017 - under the "engine" the stop is an exit with code 32
        run_entry_point(root)
    assert frozen == []
    assert gc.isenabled()
