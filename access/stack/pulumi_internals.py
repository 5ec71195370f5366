"""The one place that touches private parts of the Pulumi Python SDK.

The offline runner (``access.stack.offline``) runs the real program in-process under Pulumi's mocks. The public
``pulumi.runtime.set_mocks`` installs the mocks, but running a program body to completion and resetting the
runtime between runs needs the SDK's own internals. They are named here, checked by :func:`check` (a test calls
it, so an SDK upgrade that moves them fails with a message naming what moved), and used only through the functions
below.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

# module -> attribute path, for every private thing used here
USED = (
    ("pulumi.runtime.settings", "reset_options"),
    ("pulumi.runtime.settings", "SETTINGS.rpc_manager.clear"),
    ("pulumi.runtime.settings", "SETTINGS.outputs.clear"),
    ("pulumi.runtime.settings", "SETTINGS.monitor"),
    ("pulumi.runtime.stack", "run_pulumi_func"),
    ("pulumi.runtime.sync_await", "_sync_await"),
)


class PulumiInternalsChanged(RuntimeError):
    """The installed pulumi SDK no longer has a private API the offline runner relies on."""


def _resolve(module: str, path: str) -> Any:
    value: Any = importlib.import_module(module)
    for part in path.split("."):
        value = getattr(value, part)
    return value


def check() -> None:
    """Raise :class:`PulumiInternalsChanged` naming every private API that is gone."""
    missing = []
    for module, path in USED:
        try:
            _resolve(module, path)
        except (ImportError, AttributeError):
            missing.append(f"{module}.{path}")
    if missing:
        import pulumi

        raise PulumiInternalsChanged(
            f"pulumi {getattr(pulumi, '__version__', '?')} no longer has {', '.join(missing)}; the offline runner "
            "(access/stack/pulumi_internals.py) must be adapted to this SDK, or pin the previous pulumi version"
        )


def reset_runtime(project: str, stack: str) -> None:
    """Forget the previous run's settings, pending RPCs and outputs, as a fresh process would start."""
    settings = _resolve("pulumi.runtime.settings", "reset_options")
    settings(project=project, stack=stack, preview=True)


def clear_pending() -> None:
    runtime_settings = _resolve("pulumi.runtime.settings", "SETTINGS")
    runtime_settings.rpc_manager.clear()
    runtime_settings.outputs.clear()


def run_program(body: Callable[[], None]) -> None:
    """Run ``body`` as the engine runs a program: every registration and Output awaited before returning."""
    run_pulumi_func = _resolve("pulumi.runtime.stack", "run_pulumi_func")
    sync_await(run_pulumi_func(body))


def registered_urns() -> list[str]:
    """The URNs the mock monitor of the last run registered (Pulumi's own record, parents included)."""
    monitor = _resolve("pulumi.runtime.settings", "SETTINGS.monitor")
    return list(monitor.get_registered_resources())


def under_mocks() -> bool:
    """Whether the program runs in-process under ``pulumi.runtime.set_mocks`` (tests, ``python -m access plan``)
    rather than under the real engine."""
    from pulumi.runtime.mocks import MockMonitor

    return isinstance(_resolve("pulumi.runtime.settings", "SETTINGS.monitor"), MockMonitor)


def sync_await(awaitable: Awaitable[T]) -> T:
    """Wait for ``awaitable`` on the runtime's event loop (the SDK's own helper, used by its mock tests)."""
    result: T = _resolve("pulumi.runtime.sync_await", "_sync_await")(awaitable)
    return result
