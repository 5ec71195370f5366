"""Whole commands against the floor, in one run: what people run, not only the program (issue 14, item 1).

For each size (project-environments in one stack; 200 teams, 2,000 users, as ``plan_scale.py``) it writes an
organisation with ``make_org.py`` and a copy one membership apart (``plan_scale.user_joins_team``), then measures,
each as a whole process (``python -m access ...``, stdout to a file) ``--repeat`` times, the fastest by CPU:

* ``plan --format json`` and ``plan`` (text: the summary at these sizes) of the stack;
* ``diff --base <org> --project-dir <org + 1 membership> --stack dev --format text``: both sides planned, each in
  its own process (their CPU is counted: a process's rusage includes the children it waited for);
* the **floor** of ``plan_scale.py`` (a bare program registering the same resources with the same SDK classes and
  no logic, reused from there), plus what every process pays before its first line of work: the interpreter and
  the SDK imports, measured as a process that imports ``access.stack.program`` and exits.

CPU seconds (user + system, children included), wall seconds, peak RSS (of the largest process) and bytes printed
are reported, and the ratio of each command to the floor. Targets at 1,000 and above: ``plan`` JSON and text at most
1.3x the floor, ``diff`` at most 2.6x; the exit code is 1 when one is missed.

    .venv/bin/python bench/commands.py --sizes 100,1000 --repeat 1 --workdir /tmp/bench-commands
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the access and bench packages importable
    sys.path.insert(0, str(REPO))

from bench import plan_scale  # noqa: E402
from bench.make_org import Config, make_org  # noqa: E402

TARGETS = {"plan json": 1.3, "plan text": 1.3, "diff": 2.6}  # ratio to the floor, at 1,000 and above
TARGET_FROM = 1000
IMPORTS = "import access.stack.program, access.commands.cli"  # what every command process imports first


@dataclass(frozen=True)
class Whole:
    """One process, measured from outside: CPU includes the children it waited for."""

    cpu_seconds: float
    seconds: float
    peak_rss_mib: float
    output_bytes: int


def run_whole(argv: Sequence[str], cwd: Path = REPO) -> Whole:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(list(argv), cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        size = out.tell()
        if process.returncode not in (0, 1):  # diff exits 1 when it flags a change
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}:\n{err.read().decode()[-2000:]}")
    return Whole(usage.ru_utime + usage.ru_stime, seconds, usage.ru_maxrss / 1024, size)


def fastest(argv: Sequence[str], repeat: int) -> Whole:
    return min((run_whole(argv) for _ in range(repeat)), key=lambda w: w.cpu_seconds)


def access(*args: str) -> list[str]:
    return [sys.executable, "-m", "access", *args]


def one_membership_apart(base: Path, head: Path, data: Config) -> str:
    """``head``: a copy of ``base`` where one user joined one more team; returns who joined what."""
    shutil.copytree(base, head, dirs_exist_ok=True)
    changed = {"teams.yaml": yaml.safe_load((base / "config" / "teams.yaml").read_text(encoding="utf-8"))}
    changed["access.yaml"] = data["access.yaml"]
    user, team = plan_scale.user_joins_team(changed)
    (head / "config" / "teams.yaml").write_text(
        yaml.safe_dump(changed["teams.yaml"], sort_keys=False, width=120), encoding="utf-8"
    )
    return f"{user} joins {team}"


@dataclass(frozen=True)
class Row:
    size: int
    resources: int
    floor: float  # CPU seconds: the bare program plus the process start and imports
    commands: dict[str, Whole]


def measure_size(size: int, repeat: int, seed: int, workdir: Path) -> Row:
    base, head = workdir / f"org-{size}", workdir / f"org-{size}-joined"
    data = make_org(base, plan_scale.bench_shape(size, seed))
    one_membership_apart(base, head, data)
    recording = workdir / f"recording-{size}.json"
    plan_scale.best("program", base, recording, 1)  # records what the floor replays
    floor_run = plan_scale.best("floor", base, recording, repeat)
    startup = fastest([sys.executable, "-c", IMPORTS], repeat).cpu_seconds
    stack = ["--stack", plan_scale.STACK]
    commands = {
        "plan json": fastest(access("plan", *stack, "--project-dir", str(base), "--format", "json"), repeat),
        "plan text": fastest(access("plan", *stack, "--project-dir", str(base)), repeat),
        "diff": fastest(
            access("diff", "--base", str(base), "--project-dir", str(head), *stack, "--format", "text"), repeat
        ),
    }
    return Row(size, floor_run.resources, floor_run.cpu_seconds + startup, commands)


def report(rows: Sequence[Row]) -> bool:
    header = ("project-envs", "resources", "floor CPU s", "command", "CPU s", "ratio", "target", "wall s", "MiB",
              "printed")  # fmt: skip
    print(" ".join(f"{h:>12}" for h in header))
    ok = True
    for row in rows:
        for name, whole in row.commands.items():
            ratio = whole.cpu_seconds / row.floor
            target = TARGETS[name] if row.size >= TARGET_FROM else None
            met = target is None or ratio <= target
            ok &= met
            values = (
                f"{row.size:,}",
                f"{row.resources:,}",
                f"{row.floor:.2f}",
                name,
                f"{whole.cpu_seconds:.2f}",
                f"{ratio:.2f}",
                "-" if target is None else f"<= {target}{'' if met else ' MISSED'}",
                f"{whole.seconds:.1f}",
                f"{whole.peak_rss_mib:.0f}",
                f"{whole.output_bytes / 1e6:.1f} MB",
            )
            print(" ".join(f"{v:>12}" for v in values), flush=True)
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=list(plan_scale.SIZES),
        help="project-environments per stack, comma-separated (default: 100,1000,2995)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated organisations here")
    args = parser.parse_args(argv)
    print(
        f"eks-access whole commands against the floor: stack {plan_scale.STACK}, 200 teams, 2,000 users in 1-3 "
        f"teams, seed {args.seed}, best of {args.repeat} by CPU time (children included)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="eks-access-commands-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        ok = True
        for size in args.sizes:
            ok &= report([measure_size(size, args.repeat, args.seed, workdir)])
        print("all targets met" if ok else "TARGETS MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
