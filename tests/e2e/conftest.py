"""Fixtures for the end-to-end scenarios (run by `make e2e` = tools/e2e/run; never collected by `make test`).

- ``e2e_run`` (session): the components tools/e2e/build made (E2E_BINS names its output), moto on loopback, the
  plugin wrappers.
- ``scenario`` (per test): a fresh etcd + kube-apiserver, moto reset, a copy of the project with its own file
  backend; stopped and removed afterwards (E2E_KEEP=1 keeps the run directory for debugging).

The summary at the end prints PASS / FAIL / NOT RUN per scenario (tests are marked ``@pytest.mark.scenario(N, …)``);
a skipped scenario is NOT RUN with its reason, never a pass.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import harness
import pytest
import servers

CACHE = Path(os.environ.get("EKS_ACCESS_E2E_CACHE", Path.home() / ".cache" / "eks-access-e2e"))
TITLES = {
    1: "pulumi up on an empty cluster",
    2: "a live aws-auth with an entry EKS added",
    3: "the real authorizer's answer equals the plan's effective-access matrix",
    4: "roleRef change replaced, removed project retained, destroy keeps aws-auth and namespaces",
    5: "an existing namespace is adopted, nothing in it deleted",
    6: "pulumi preview --policy-pack policy/ and preview_guard on the real preview --json",
    7: "bad config under the real engine: one error line, nothing applied",
    8: "each level's commands, as kubectl auth can-i answers them",
}
_results: dict[int, list[tuple[str, str, str]]] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario(number, title): an issue-17 end-to-end scenario")

    # SIGTERM (CI's timeout, kill) unwinds like Ctrl-C, so the fixtures stop the servers they started.
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@pytest.fixture(scope="session")
def e2e_run() -> Iterator[harness.Run]:
    bins_file = os.environ.get("E2E_BINS")
    if bins_file:
        bins = harness.read_bins(Path(bins_file))
    else:
        out = subprocess.run(
            [str(harness.ROOT / "tools" / "e2e" / "build")], capture_output=True, text=True, check=True
        ).stdout
        path = CACHE / "last-build.txt"
        path.write_text(out)
        bins = harness.read_bins(path)
    workdir = CACHE / "runs" / time.strftime("%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True)
    try:
        with servers.moto(bins["moto"] / "bin" / "moto_server", workdir / "moto", harness.ACCOUNT) as moto:
            yield harness.Run(bins, workdir, moto)
    finally:
        if os.environ.get("E2E_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"\nE2E_KEEP=1: kept {workdir}")


@pytest.fixture
def scenario(e2e_run: harness.Run, request: pytest.FixtureRequest) -> Iterator[harness.Scenario]:
    name = request.node.name.replace("[", "-").replace("]", "")
    workdir = e2e_run.dir / name
    bins = {
        "etcd": e2e_run.bins["etcd"] / "bin" / "etcd",
        "kube-apiserver": e2e_run.bins["kubernetes"] / "bin" / "kube-apiserver",
        "kube-controller-manager": e2e_run.bins["kubernetes"] / "bin" / "kube-controller-manager",
    }
    with servers.cluster(bins, workdir / "cluster") as cluster:
        yield harness.Scenario(e2e_run, name, cluster, workdir)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("scenario")
    if marker is None:
        return
    number = marker.args[0]
    if report.when == "call" or (report.when == "setup" and (report.failed or report.skipped)):
        if report.passed:
            status, why = "PASS", ""
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            status, why = "NOT RUN", reason.removeprefix("Skipped: ")
        else:
            message = str(call.excinfo.value) if call.excinfo else report.longreprtext
            lines = [ln.strip() for ln in message.split("\nassert ")[0].splitlines() if ln.strip()]
            status, why = "FAIL", "\n".join(ln[:400] for ln in lines[:8])
        _results.setdefault(number, []).append((item.name, status, why))
    elif report.when == "teardown" and report.failed:
        _results.setdefault(number, []).append((item.name, "FAIL", "teardown failed"))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    tr = terminalreporter
    tr.section("issue 17 end-to-end scenarios")
    not_run = []
    for number in sorted(TITLES):
        entries = _results.get(number, [])
        statuses = {s for _, s, _ in entries}
        overall = "FAIL" if "FAIL" in statuses else "NOT RUN" if (not entries or "NOT RUN" in statuses) else "PASS"
        tr.write_line(f"{overall:8} scenario {number}: {TITLES[number]}")
        for name, status, why in entries:
            if status != "PASS" or len(entries) > 1:
                first, *rest = why.splitlines() or [""]
                tr.write_line(f"           {status:8} {name}{': ' + first if first else ''}")
                for line in rest:
                    tr.write_line(f"             - {line}")
        if overall == "NOT RUN":
            not_run.append(number)
    if not_run:
        tr.write_line(f"NOT RUN (not counted as passed): scenarios {', '.join(map(str, not_run))}")
