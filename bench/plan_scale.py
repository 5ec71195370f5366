"""Time the in-process plan of one stack against the floor measured in the same run, and measure change locality.

For each size (project-environments in one stack) a synthetic organisation is written with ``bench/make_org.py``
and two programs run under the same Pulumi mock runtime (``access.stack.offline.run_program``):

* the real program (``access.stack.program.main``): config load, plan, rendering, components, resources;
* the floor: a bare program that registers the same resources (same types, names and input values, taken from the
  real run's recording) with the same SDK classes and no logic: no config, no plan, no parents, no Outputs.

Each measurement runs in a fresh Python process (so peak memory is per run and nothing is warm), ``--repeat``
times; the fastest run counts. Printed per size: resources, seconds, ratio to the floor, peak RSS.

Change locality diffs the recorded inputs of two offline runs keyed by (type, name): how many resources change when
one user joins a team (target: 1, the user's UserGroupMembership) and when one project-environment is added (its
own resources, plus the aws-auth patch whose mapRoles names the new role, plus the owner team's assume-role policy
that must now name it).

    .venv/bin/python bench/plan_scale.py                  # 100, 1,000 and 3,000 project-environments
    .venv/bin/python bench/plan_scale.py --sizes 100 --repeat 1
"""

from __future__ import annotations

import argparse
import copy
import gc
import itertools
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the access and bench packages importable
    sys.path.insert(0, str(REPO))

from bench.make_org import Config, OrgShape, make_org, project_id, write_config  # noqa: E402

# 3,000 project-environments do not fit one cluster: with its node roles and the admin, monitoring and CI roles
# the stack needs 3,005 principals and EKS allows 3,000 access entries per cluster, so preflight (which the program
# runs too) refuses it. 2,995 is the most one stack can hold.
SIZES = (100, 1000, 2995)
STACK = "dev"  # the per-stack benchmark organisation has one environment, dev
RATIO_TARGET = 1.3  # at 1,000 project-environments
GROWTH_SLACK = 1.1  # 10x the organisation may take at most 11x the time
Key = tuple[str, str]  # (resource type, resource name)
# The program with the garbage collector left on while it registers (access/stack/collector.py switched off):
# what pausing it saves and what memory it costs.
COLLECTING = "program-collecting"
# The program as the real engine runs it: collection paused while main declares, what it declared frozen, the
# registrations that follow collected as usual.
ENGINE = "program-engine"
MEMBERSHIP = "aws:iam/userGroupMembership:UserGroupMembership"
# Besides its own resources, adding a project-environment changes exactly these: the aws-auth patch (mapRoles
# gains the new role) and the owner team's inline policy (it may now assume the new role).
PROJECT_ADDED_CHANGES = ("kubernetes:core/v1:ConfigMapPatch", "aws:iam/groupPolicy:GroupPolicy")


# -- offline runs and what they recorded ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    read: bool


def live_aws_auth(project_dir: Path, stack: str) -> dict[str, Any]:
    """The aws-auth EKS keeps for the stack's cluster (its node roles), computed before any timing starts,
    so neither the program nor the floor pays for the mock's own lookup."""
    from access.core import awsauth
    from access.core.config import load
    from access.core.plan.auth import node_map_entry
    from access.core.stack_settings import read_stack_file

    environment = str(read_stack_file(project_dir, stack)["access:environment"])
    org = load(project_dir / "config")
    nodes = [node_map_entry(n) for n in org.clusters[org.environments[environment].cluster].node_roles]
    return {"data": {"mapRoles": awsauth.render(nodes)}, "annotations": {}}


def record(project_dir: Path, stack: str = STACK) -> list[Recorded]:
    """Run the real program offline and return every resource it registered, in order."""
    from access.stack.offline import Fixtures, run_program

    run = run_program(project_dir, stack, Fixtures(live_aws_auth=live_aws_auth(project_dir, stack)))
    return [Recorded(r.type, r.name, r.inputs, r.read) for r in run.resources]


# -- the floor --------------------------------------------------------------------------------------------------------


def sdk_class(type_token: str) -> Any | None:
    """The SDK class that registers resources of ``type_token`` (``aws:iam/role:Role`` -> ``aws.iam.Role``,
    ``kubernetes:rbac.authorization.k8s.io/v1:Role`` -> ``k8s.rbac.v1.Role``), or None for other packages."""
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s

    if type_token == "pulumi:providers:kubernetes":
        return k8s.Provider
    package, module, kind = type_token.split(":")
    if package == "aws":
        return getattr(getattr(aws, module.split("/")[0]), kind, None)
    if package == "kubernetes":
        group, version = module.split("/")
        return getattr(getattr(getattr(k8s, group.split(".")[0]), version), kind, None)
    return None


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _provider_value(recorded: Any) -> Any:
    """Providers receive their inputs JSON-encoded (``enableServerSideApply: "true"``): decode scalars back."""
    if isinstance(recorded, str):
        try:
            decoded = json.loads(recorded)
        except ValueError:
            return recorded
        if isinstance(decoded, (bool, int, float)):
            return decoded
    return recorded


def floor_program(recorded: Sequence[Recorded]) -> Callable[[], dict[str, Any]]:
    """A bare program registering ``recorded`` again: same types, names and input values, and no logic.

    The one read in the program is the live aws-auth ConfigMap, so reads are replayed as ``get`` of that id.
    """
    import inspect
    from functools import partial

    import pulumi

    def component(type_token: str, name: str) -> None:
        pulumi.ComponentResource(type_token, name).register_outputs({})

    steps: list[Callable[[], Any]] = []
    for item in recorded:
        cls = sdk_class(item.type)
        if item.read and cls is not None:
            steps.append(partial(cls.get, item.name, "kube-system/aws-auth"))
        elif cls is None and item.type.startswith("eks-access:"):
            steps.append(partial(component, item.type, item.name))
        elif cls is None:
            steps.append(partial(pulumi.CustomResource, item.type, item.name, dict(item.inputs)))
        else:
            accepted = set(inspect.signature(cls._internal_init).parameters) - {"api_version", "kind"}
            # the SDK class sets apiVersion and kind itself
            kwargs = {_snake(k): v for k, v in item.inputs.items() if _snake(k) in accepted}
            if item.type.startswith("pulumi:providers:"):
                kwargs = {k: _provider_value(v) for k, v in kwargs.items()}
            steps.append(partial(cls, item.name, **kwargs))

    def program() -> dict[str, Any]:
        for step in steps:
            step()
        return {}

    return program


# -- one measurement in a fresh process -------------------------------------------------------------------------------


@dataclass
class Measurement:
    kind: str  # program | floor | program-collecting | program-engine
    seconds: float  # wall clock
    cpu_seconds: float  # this process's CPU time, all threads: steadier than wall time on a shared machine
    peak_rss_mib: float
    resources: int


def collector_variant(kind: str) -> None:
    """Switch this worker process to a collector variant (access/stack/collector.py) before it runs the program.

    ``program-collecting``: the collector left on throughout (as before issue 14); ``program-engine``: as under
    the real engine, paused only while ``main`` declares and what it declared frozen, the registrations that
    follow collected as usual. ``program`` and ``floor`` run as shipped: paused for the whole run.
    """
    import contextlib
    from types import SimpleNamespace

    from access.stack import collector, offline, program

    if kind == COLLECTING:
        collector.paused = contextlib.nullcontext  # type: ignore[assignment]
    elif kind == ENGINE:
        offline.collector = SimpleNamespace(paused=contextlib.nullcontext)  # type: ignore[assignment]
        program.pulumi_internals = SimpleNamespace(under_mocks=lambda: False)  # type: ignore[assignment]


def measure_here(kind: str, project_dir: Path, recording: Path | None, stack: str = STACK) -> Measurement:
    """Time one offline run in this process.

    Imports, the live aws-auth fixture and the floor's replay data are prepared before the clock starts and then
    frozen out of the garbage collector's sight (``gc.freeze``), so neither side pays for scanning them: what is
    timed is what the run itself allocates, and the cyclic collector is a large part of that.
    """
    import access.stack.program  # noqa: F401 - imported before timing, like the floor's SDK classes
    from access.stack.offline import Fixtures, run_program

    collector_variant(kind)
    fixtures = Fixtures(live_aws_auth=live_aws_auth(project_dir, stack))
    program = None
    if kind == "floor":
        assert recording is not None
        items = [Recorded(**r) for r in json.loads(recording.read_text(encoding="utf-8"))]
        program = floor_program(items)
    gc.collect()
    gc.freeze()
    start, start_cpu = time.perf_counter(), time.process_time()
    run = run_program(project_dir, stack, fixtures, program=program)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    if kind == "program" and recording is not None:
        recording.write_text(json.dumps([asdict(Recorded(r.type, r.name, r.inputs, r.read)) for r in run.resources]))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return Measurement(kind, seconds, cpu_seconds, peak_kib / 1024, len(run.resources))


def measure(kind: str, project_dir: Path, recording: Path) -> Measurement:
    """One measurement in a fresh Python process: nothing warm, and peak memory belongs to this run alone."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, str(project_dir), str(recording)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{kind} run failed:\n{result.stderr}")
    return Measurement(**json.loads(result.stdout.strip().splitlines()[-1]))


def best(kind: str, project_dir: Path, recording: Path, repeat: int) -> Measurement:
    """The fastest of ``repeat`` runs by CPU time (the least disturbed by whatever else the machine does)."""
    return min((measure(kind, project_dir, recording) for _ in range(repeat)), key=lambda m: m.cpu_seconds)


# -- change locality --------------------------------------------------------------------------------------------------


@dataclass
class Locality:
    added: list[Key] = field(default_factory=list)
    removed: list[Key] = field(default_factory=list)
    changed: list[Key] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)


def diff_runs(before: Sequence[Recorded], after: Sequence[Recorded]) -> Locality:
    """Which resources a change adds, removes, or gives different inputs, keyed by (type, name)."""

    def by_key(items: Sequence[Recorded]) -> dict[Key, str]:
        return {(r.type, r.name): json.dumps(r.inputs, sort_keys=True) for r in items if not r.read}

    old, new = by_key(before), by_key(after)
    return Locality(
        added=sorted(new.keys() - old.keys()),
        removed=sorted(old.keys() - new.keys()),
        changed=sorted(k for k in old.keys() & new.keys() if old[k] != new[k]),
    )


def user_joins_team(data: Config) -> tuple[str, str]:
    """Add one user to one more team that has grants in the organisation; returns (user, team)."""
    teams = data["teams.yaml"]["teams"]
    granted = sorted(data["access.yaml"]["grants"])
    membership: dict[str, set[str]] = {}
    for team, spec in teams.items():
        for user in spec["members"]:
            membership.setdefault(user, set()).add(team)
    user = min(membership, key=lambda u: (len(membership[u]), u))
    team = next(t for t in granted if t not in membership[user])
    teams[team]["members"].append(user)
    return user, team


def project_environment_added(data: Config) -> tuple[str, str]:
    """Add one project in one environment, shaped like the rest (owner team operates it, CI deploys it)."""
    projects = data["projects.yaml"]["projects"]
    new = project_id(len(projects) + 1)
    first = projects[min(projects)]
    owner, env = first["owner"], first["environments"][0]
    projects[new] = {"owner": owner, "environments": [env]}
    data["access.yaml"]["grants"].setdefault(owner, {})[new] = {env: "operate"}
    data["access.yaml"]["ci"]["jenkins"]["deploys"][new] = [env]
    return new, owner


def locality(project_dir: Path, data: Config, change: Callable[[Config], Any], stack: str = STACK) -> Locality:
    """Record the program on ``project_dir``, apply ``change`` to a copy of its config, record again, diff."""
    before = record(project_dir, stack)
    with tempfile.TemporaryDirectory(prefix="eks-access-locality-") as scratch:
        changed_dir = Path(scratch)
        changed = copy.deepcopy(data)
        change(changed)
        write_config(changed_dir / "config", changed)
        for stack_file in project_dir.glob("Pulumi*.yaml"):
            (changed_dir / stack_file.name).write_text(stack_file.read_text(encoding="utf-8"), encoding="utf-8")
        after = record(changed_dir, stack)
    return diff_runs(before, after)


def short_type(type_token: str) -> str:
    """``aws:iam/role:Role`` -> ``iam.Role``; ``kubernetes:rbac.authorization.k8s.io/v1:Role`` -> ``rbac.Role``."""
    _, module, kind = type_token.split(":")
    return f"{module.split('/')[0].split('.')[0]}.{kind}"


def describe(keys: Sequence[Key]) -> str:
    counts = Counter(short_type(typ) for typ, _ in keys)
    return ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "none"


# -- the report -------------------------------------------------------------------------------------------------------


def bench_shape(size: int, seed: int) -> OrgShape:
    return OrgShape(teams=200, users=2000, teams_per_user=(1, 3), projects=size, environments=1, seed=seed)


def run_benchmark(sizes: Sequence[int], repeat: int, seed: int, workdir: Path) -> int:
    print(
        f"eks-access plan benchmark: stack {STACK}, 200 teams, 2,000 users in 1-3 teams, seed {seed}, "
        f"best of {repeat} by CPU time"
    )
    header = ("project-envs", "resources", "program s", "floor s", "ratio", "wall ratio", "program MiB", "floor MiB")
    print(" ".join(f"{h:>12}" for h in header))
    results: dict[int, tuple[Measurement, Measurement]] = {}
    organisations: dict[int, Config] = {}
    for size in sizes:
        project_dir = workdir / f"org-{size}"
        organisations[size] = make_org(project_dir, bench_shape(size, seed))
        recording = workdir / f"recording-{size}.json"
        program = best("program", project_dir, recording, repeat)
        floor = best("floor", project_dir, recording, repeat)
        if floor.resources != program.resources:
            raise RuntimeError(f"floor registered {floor.resources} resources, the program {program.resources}")
        results[size] = (program, floor)
        row = (
            f"{size:,}",
            f"{program.resources:,}",
            f"{program.cpu_seconds:.2f}",
            f"{floor.cpu_seconds:.2f}",
            f"{program.cpu_seconds / floor.cpu_seconds:.2f}",
            f"{program.seconds / floor.seconds:.2f}",
            f"{program.peak_rss_mib:.0f}",
            f"{floor.peak_rss_mib:.0f}",
        )
        print(" ".join(f"{v:>12}" for v in row), flush=True)

    ok = True
    if 1000 in results:
        program, floor = results[1000]
        ratio = program.cpu_seconds / floor.cpu_seconds
        ok &= ratio <= RATIO_TARGET
        print(f"ratio to the floor at 1,000 project-environments: {ratio:.2f} (target <= {RATIO_TARGET})")
    ordered = sorted(results)
    for small, large in itertools.pairwise(ordered):
        growth = results[large][0].cpu_seconds / results[small][0].cpu_seconds
        allowed = GROWTH_SLACK * large / small
        ok &= growth <= allowed
        per_resource = (results[large][0].cpu_seconds / results[large][0].resources) / (
            results[small][0].cpu_seconds / results[small][0].resources
        )
        print(
            f"{small:,} -> {large:,} project-environments ({large / small:.1f}x): {growth:.2f}x the time "
            f"(linear allows {allowed:.1f}x); time per resource {per_resource:.2f}x"
        )

    smallest = ordered[0]
    project_dir = workdir / f"org-{smallest}"
    joined = locality(project_dir, organisations[smallest], user_joins_team)
    print(
        f"change locality on the {smallest:,} org, one user joins a team: {joined.total} resource(s) change "
        f"({describe(joined.changed)} changed; {describe(joined.added)} added; {describe(joined.removed)} removed); "
        "target 1"
    )
    ok &= joined.total == 1 and [t for t, _ in joined.changed] == [MEMBERSHIP]
    added = locality(project_dir, organisations[smallest], project_environment_added)
    print(
        f"change locality, one project-environment added: {len(added.added)} new resources ({describe(added.added)}); "
        f"{describe(added.changed)} changed (the aws-auth mapRoles gains the new role; the owner team's "
        f"assume-role policy names it); {describe(added.removed)} removed"
    )
    ok &= not added.removed and sorted(t for t, _ in added.changed) == sorted(PROJECT_ADDED_CHANGES)
    print(
        f"resources per project-environment: {len(added.added)} of its own; "
        + ", ".join(
            f"{size:,}: {results[size][0].resources / size:.1f} per project-environment overall" for size in ordered
        )
        + " (the org's groups and memberships included)"
    )
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=list(SIZES),
        help="project-environments per stack, comma-separated (default: 100,1000,2995)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated organisations here")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "PROJECT_DIR", "RECORDING"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, project_dir, recording = args.worker
        print(json.dumps(asdict(measure_here(kind, Path(project_dir), Path(recording)))))
        return 0
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return run_benchmark(args.sizes, args.repeat, args.seed, args.workdir)
    with tempfile.TemporaryDirectory(prefix="eks-access-bench-") as scratch:
        return run_benchmark(args.sizes, args.repeat, args.seed, Path(scratch))


if __name__ == "__main__":
    sys.exit(main())
