"""Both sides of the diff, each planned by its own code in its own process.

The base is a git ref (checked out in a temporary ``git worktree``) or a directory; the head is the working tree,
a git ref (``--head``), or a snapshot another process already printed (``--head-snapshot``, what CI passes so
that the comparing job never runs the pull request's code). Each side runs ``python -m access diff-snapshot`` with
its own ``access/`` package on this interpreter and prints versioned JSON (``snapshot.py``), read here as data.

A side whose project has no ``access/`` package uses the installed eks-access (a repository that keeps only
config and installs eks-access as a dependency); then both sides run the same code and only the dependency files
say what changed. A git base without code while the head has it, or whose code cannot print a snapshot, is one
line of bad input: the diff never passes on a base it could not plan with the base's own code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from access.errors import UsageError

SNAPSHOT_COMMAND = "diff-snapshot"


@dataclass
class Side:
    label: str  # how the report and messages name it: the --base/--head text, or "working tree"
    project_dir: Path  # its Pulumi.yaml and stack files
    code_dir: Path | None  # the directory holding its access/ package; None: the installed eks-access
    label_prefix: str = ""  # put before config file names in its messages (``main:``, ``/path/to/base/``)
    config_dir: Path | None = None  # a bare config directory, used for every stack (a base only)
    commit: str | None = None  # set for a git side
    snapshot_file: Path | None = None  # the side was planned elsewhere; read this instead
    notes: list[str] = field(default_factory=list)


def running_code() -> Path:
    """Where this process's own eks-access is: the code of a side without an ``access/`` package."""
    import access

    return Path(access.__file__).resolve().parent.parent


def has_code(project_dir: Path) -> bool:
    return (project_dir / "access" / "__init__.py").is_file()


def git(directory: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(directory), *args], capture_output=True, check=False)
    except OSError as error:
        raise UsageError(f"--base needs git for a ref ({error.strerror}); pass a directory instead") from None


def repository_of(project_dir: Path) -> tuple[Path, str] | None:
    """The repository's top and the project's path in it (``""`` or ``infra/``), or None outside git."""
    top = git(project_dir, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        return None
    root = Path(top.stdout.decode().strip())
    prefix = project_dir.resolve().relative_to(root.resolve()).as_posix()
    return root, "" if prefix == "." else prefix + "/"


def commit_of(spec: str, option: str, project_dir: Path, repository: tuple[Path, str] | None) -> str:
    if spec.startswith("-") or not spec.strip():
        raise UsageError(f"{option} {spec!r} is neither a directory nor a git ref")
    if repository is None:
        raise UsageError(f"{option} {spec}: not a directory, and {project_dir} is not in a git repository")
    commit = git(repository[0], "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
    if commit.returncode != 0:
        raise UsageError(f"{option} {spec}: not a directory and not a commit in this repository (git fetch it first?)")
    return commit.stdout.decode().strip()


@contextmanager
def worktree(spec: str, commit: str, repository: tuple[Path, str]) -> Iterator[Path]:
    """A temporary ``git worktree`` of ``commit``: the project directory in it, removed afterwards."""
    top, prefix = repository
    temp = Path(tempfile.mkdtemp(prefix="eks-access-diff-"))
    tree = temp / "tree"
    added = git(top, "worktree", "add", "--detach", "--quiet", str(tree), commit)
    try:
        if added.returncode != 0:
            lines = added.stderr.decode(errors="replace").strip().splitlines()
            raise UsageError(f"{spec}: git worktree add failed: {lines[-1] if lines else 'no message'}")
        project = tree / prefix if prefix else tree
        _check_config_dirs(spec, project)
        yield project
    finally:
        if added.returncode == 0:
            git(top, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(temp, ignore_errors=True)
        git(top, "worktree", "prune")


def _check_config_dirs(spec: str, project: Path) -> None:
    import yaml

    for stack_file in project.glob("Pulumi.*.yaml"):
        try:
            data = yaml.safe_load(stack_file.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue  # the side's own loader reports it
        value = (data.get("config") or {}).get("access:configDir", "config") if isinstance(data, dict) else "config"
        value = value.get("value", "config") if isinstance(value, dict) else value
        if isinstance(value, str) and Path(value).is_absolute():
            raise UsageError(f"{spec}: access:configDir {value} is outside the repository; use a directory base")


def directory_side(spec: str, path: Path, head: Side) -> Side:
    """A base that is a directory: a checkout (planned with its own code, when it has some) or a bare config."""
    if (path / "Pulumi.yaml").exists() or any(path.glob("Pulumi.*.yaml")) or (path / "config").is_dir():
        side = Side(spec, path, path if has_code(path) else None, label_prefix=f"{str(path).rstrip('/')}/")
        if side.code_dir is None and head.code_dir is not None:
            side.code_dir = head.code_dir
            side.notes.append(
                f"The base {spec} has no eks-access code of its own: it was planned with the head's code, "
                "and code changes were not compared."
            )
        return side
    return Side(
        spec,
        head.project_dir,
        head.code_dir,
        config_dir=path,
        notes=[
            f"The base {spec} is a config directory: it was planned with the head's code and stack files, "
            "and code changes were not compared."
        ],
    )


def git_side(spec: str, commit: str, project: Path, head_has_code: bool) -> Side:
    if head_has_code and not has_code(project):
        raise UsageError(
            f"--base {spec}: it has no eks-access code (access/) to plan it with, and the base must be planned "
            "with its own code; compare with a base that has it"
        )
    return Side(spec, project, project if has_code(project) else None, label_prefix=f"{spec}:", commit=commit)


# --- running a side -------------------------------------------------------------------------------------------


def start(side: Side, only_stack: str | None, out: Path) -> subprocess.Popen[bytes] | None:
    """Start the side's own ``diff-snapshot`` in its own process, printing to ``out``; None when precomputed."""
    if side.snapshot_file is not None:
        return None
    argv = [sys.executable, "-P", "-m", "access", SNAPSHOT_COMMAND, "--project-dir", str(side.project_dir.resolve())]
    if side.label_prefix:
        argv += ["--label-prefix", side.label_prefix]
    if side.config_dir is not None:
        argv += ["--config", str(side.config_dir.resolve())]
    if only_stack:
        argv += ["--stack", only_stack]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str((side.code_dir or running_code()).resolve())
    with out.open("wb") as stdout:
        return subprocess.Popen(
            argv, cwd=side.project_dir, env=env, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )


def finish(side: Side, process: subprocess.Popen[bytes] | None, out: Path) -> Any:
    """The side's document, or one line saying why there is none."""
    if process is not None:
        _, stderr = process.communicate()
        lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
        if process.returncode != 0:
            if any(f"invalid choice: '{SNAPSHOT_COMMAND}'" in line for line in lines):
                raise UsageError(
                    f"{side.label}: its eks-access code cannot print a diff snapshot (it predates `diff-snapshot`), "
                    "and each side must be planned with its own code; compare with a newer base"
                )
            errors = [line for line in lines if line.startswith("error: ")]
            message = errors[-1][len("error: ") :] if errors else (lines[-1] if lines else "no message")
            raise UsageError(message if errors else f"{side.label}: diff-snapshot failed: {message}")
    source = str(side.snapshot_file) if side.snapshot_file is not None else side.label
    try:
        text = (side.snapshot_file or out).read_text()
    except OSError as error:
        raise UsageError(f"{source}: {error.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{source}: not an eks-access diff snapshot (not JSON: {error.msg})") from None
