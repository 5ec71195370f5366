"""Loading both sides: the base (a git ref or a directory) and the working tree, planned per stack."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from access.commands.diff.compare import compare
from access.commands.diff.snapshot import snapshot
from access.commands.diff.types import Snapshot, StackDiff
from access.core import config
from access.core import stack_settings as stack_config
from access.core.loading import load_stack
from access.core.model import Organisation


@dataclass
class Base:
    """Where the base config comes from. ``project_dir`` holds base stack files (when it has them)."""

    label: str
    project_dir: Path | None = None
    config_dir: Path | None = None  # a bare config directory: used for every stack
    temp: tempfile.TemporaryDirectory[str] | None = None


def _git(project_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    from access.errors import UsageError

    try:
        return subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, check=False)
    except OSError as error:
        raise UsageError(f"--base needs git for a ref ({error.strerror}); pass a directory instead") from None


def resolve_base(spec: str, project_dir: Path, config_rels: Iterable[str]) -> Base:
    from access.errors import UsageError

    path = Path(spec)
    if path.is_dir():
        if (path / "Pulumi.yaml").exists() or any(path.glob("Pulumi.*.yaml")) or (path / "config").is_dir():
            return Base(spec, project_dir=path)
        return Base(spec, config_dir=path)
    if spec.startswith("-") or not spec.strip():
        raise UsageError(f"--base {spec!r} is neither a directory nor a git ref")
    top = _git(project_dir, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UsageError(f"--base {spec}: not a directory, and {project_dir} is not in a git repository")
    commit = _git(project_dir, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
    if commit.returncode != 0:
        raise UsageError(f"--base {spec}: not a directory and not a commit in this repository (git fetch it first?)")
    return _extract(spec, commit.stdout.decode().strip(), project_dir, Path(top.stdout.decode().strip()), config_rels)


def _extract(spec: str, commit: str, project_dir: Path, top: Path, config_rels: Iterable[str]) -> Base:
    """The base's stack files and config directories, from ``git archive``, in a temporary copy of the project."""
    from access.errors import UsageError

    prefix = project_dir.resolve().relative_to(top.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    listing = _git(top, "ls-tree", "-r", "-z", "--name-only", commit, "--", prefix or ".")
    files = [f for f in listing.stdout.decode().split("\0") if f]
    stack_files = [f for f in files if "/" not in f[len(prefix) :] and _is_stack_file(f[len(prefix) :])]
    rels = set(config_rels)
    for name in stack_files:
        shown = _git(top, "show", f"{commit}:{name}")
        rels.add(_config_dir_of(shown.stdout.decode(errors="replace")))
    for rel in rels:
        if Path(rel).is_absolute():
            raise UsageError(f"--base {spec}: access:configDir {rel} is outside the repository; use a directory base")
    wanted = [f for f in files if f in stack_files or any(f.startswith(prefix + rel.strip("/") + "/") for rel in rels)]
    temp = tempfile.TemporaryDirectory(prefix="eks-access-diff-")
    root = Path(temp.name)
    if wanted:
        archive = _git(top, "archive", "--format=tar", commit, "--", *wanted)
        if archive.returncode != 0:
            temp.cleanup()
            raise UsageError(f"--base {spec}: git archive failed: {archive.stderr.decode().strip().splitlines()[-1]}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(root, filter="data")
    return Base(spec, project_dir=root / prefix, temp=temp)


def _is_stack_file(name: str) -> bool:
    return name.startswith("Pulumi.") and name.endswith(".yaml") and name.count(".") >= 2


def _config_dir_of(stack_file_text: str) -> str:
    import yaml

    try:
        data = yaml.safe_load(stack_file_text) or {}
    except yaml.YAMLError:
        return "config"
    value = (data.get("config") or {}).get("access:configDir", "config") if isinstance(data, dict) else "config"
    if isinstance(value, dict):
        value = value.get("value", "config")
    return str(value)


def stacks_in(project_dir: Path | None) -> list[str]:
    if project_dir is None or not project_dir.is_dir():
        return []
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def working_side(project_dir: Path, stack: str) -> tuple[Snapshot, Organisation, str] | None:
    if not (project_dir / f"Pulumi.{stack}.yaml").exists():
        return None
    loaded = load_stack(project_dir, stack)
    return snapshot(loaded.plan, loaded.org), loaded.org, loaded.settings.config_dir


def base_side(base: Base, project_dir: Path, stack: str) -> Snapshot | None:
    """The base's snapshot of a stack; None when the stack did not exist there. An environment missing from the
    base config (or a base without config yet) is an empty snapshot: everything in it is new."""
    stack_dir = base.project_dir if base.project_dir and (base.project_dir / f"Pulumi.{stack}.yaml").exists() else None
    if stack_dir is None and base.config_dir is None and stacks_in(base.project_dir):
        return None  # the base has stack files, but not this one: an added stack
    raw = stack_config.read_stack_file(stack_dir or project_dir, stack)
    if base.config_dir is not None:
        raw["access:configDir"] = str(base.config_dir.resolve())
    settings = stack_config.parse(stack, raw)
    directory = Path(settings.config_dir)
    if not directory.is_absolute():
        directory = (base.project_dir or project_dir) / directory
    if not directory.is_dir():
        return Snapshot(settings.environment)
    label = f"{base.label}:{settings.config_dir.rstrip('/')}" if base.temp else str(directory).rstrip("/")
    org = config.load(directory, label=label)
    if settings.environment not in org.environments:
        return Snapshot(settings.environment)
    from access.core.plan.environment import plan_environment

    return snapshot(plan_environment(org, settings.environment, settings.auth_mode, stack), org)


def diff_stacks(base_spec: str, project_dir: Path, only_stack: str | None) -> tuple[Base, list[StackDiff]]:
    from access.errors import UsageError

    working = stacks_in(project_dir)
    if only_stack is not None and not (project_dir / f"Pulumi.{only_stack}.yaml").exists():
        working = []
    heads: dict[str, tuple[Snapshot, Organisation, str] | None] = {
        s: working_side(project_dir, s) for s in ([only_stack] if only_stack else working) if s in working
    }
    config_rels = {rel for side in heads.values() if side for rel in [side[2]]} or {"config"}
    base = resolve_base(base_spec, project_dir, config_rels)
    try:
        names = [only_stack] if only_stack else sorted(set(working) | set(stacks_in(base.project_dir)))
        if only_stack and only_stack not in working and only_stack not in stacks_in(base.project_dir):
            raise UsageError(f"no stack {only_stack!r}: neither Pulumi.{only_stack}.yaml nor the base has it")
        if not names:
            raise UsageError(f"no stacks: neither {project_dir} nor the base has a Pulumi.<stack>.yaml")
        order = _environment_order(heads)
        diffs = []
        for name in names:
            head = heads.get(name)
            base_snapshot = base_side(base, project_dir, name)
            diffs.append(compare(name, base_snapshot, head[0] if head else None))
        diffs.sort(key=lambda d: (order.get(d.environment, len(order)), d.stack))
        return base, diffs
    except BaseException:
        if base.temp:
            base.temp.cleanup()
        raise


def _environment_order(heads: Mapping[str, tuple[Snapshot, Organisation, str] | None]) -> dict[str, int]:
    for side in heads.values():
        if side is not None:
            return {env: i for i, env in enumerate(side[1].environments)}
    return {}
