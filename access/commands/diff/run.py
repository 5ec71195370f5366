"""The whole diff: resolve both sides, plan each with its own code (in parallel), compare stack by stack."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path

from access.commands.diff import base as sides
from access.commands.diff.code import directory_changes, git_changes
from access.commands.diff.compare import compare
from access.commands.diff.flags import code_flags
from access.commands.diff.snapshot import RuleSets, read_side
from access.commands.diff.types import DiffResult, Snapshot
from access.errors import UsageError


def diff_stacks(
    base_spec: str,
    project_dir: Path,
    only_stack: str | None,
    head_spec: str | None = None,
    head_snapshot: Path | None = None,
) -> DiffResult:
    repository = sides.repository_of(project_dir) if _needs_git(base_spec, head_spec) else None
    with ExitStack() as cleanup:
        head = _head_side(head_spec, project_dir, repository, cleanup)
        head.snapshot_file = head_snapshot
        base = _base_side(base_spec, project_dir, repository, head, cleanup)
        work = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="eks-access-diff-")))
        processes = [(side, sides.start(side, only_stack, work / f"{i}.json"), work / f"{i}.json")
                     for i, side in enumerate((base, head))]  # fmt: skip
        documents = [sides.finish(side, process, out) for side, process, out in processes]
        rule_sets = RuleSets()
        base_order, base_stacks = read_side(documents[0], base.label, rule_sets)
        head_order, head_stacks = read_side(documents[1], str(head.snapshot_file or head.label), rule_sets)
        names = _stack_names(only_stack, base_stacks, head_stacks, project_dir)
        order = {env: i for i, env in enumerate(head_order or base_order)}
        diffs = [compare(name, base_stacks.get(name), head_stacks.get(name), rule_sets) for name in names]
        diffs.sort(key=lambda d: (order.get(d.environment, len(order)), d.stack))
        result = DiffResult(base.label, head.label, diffs, notes=[*base.notes, *head.notes])
        changes = _code_changes(base, head, repository)
        if changes is not None:  # None: the base has no code of its own, and its note says so
            result.code_changes = changes
            result.code_flags = code_flags(changes)
        if base.code_dir is None and head.code_dir is None and base.config_dir is None:
            result.notes.append(
                "eks-access is not part of this project: both sides were planned with the installed eks-access; "
                "a change of its version shows as a change of the dependency files."
            )
        return result


def _needs_git(base_spec: str, head_spec: str | None) -> bool:
    return head_spec is not None or not Path(base_spec).is_dir()


def _head_side(
    spec: str | None, project_dir: Path, repository: tuple[Path, str] | None, cleanup: ExitStack
) -> sides.Side:
    if spec is None:
        return sides.Side("working tree", project_dir, project_dir if sides.has_code(project_dir) else None)
    commit = sides.commit_of(spec, "--head", project_dir, repository)
    assert repository is not None
    project = cleanup.enter_context(sides.worktree(spec, commit, repository))
    return sides.Side(spec, project, project if sides.has_code(project) else None, f"{spec}:", commit=commit)


def _base_side(
    spec: str, project_dir: Path, repository: tuple[Path, str] | None, head: sides.Side, cleanup: ExitStack
) -> sides.Side:
    path = Path(spec)
    if path.is_dir():
        return sides.directory_side(spec, path, head)
    commit = sides.commit_of(spec, "--base", project_dir, repository)
    assert repository is not None
    project = cleanup.enter_context(sides.worktree(spec, commit, repository))
    return sides.git_side(spec, commit, project, head.code_dir is not None)


def _stack_names(
    only_stack: str | None, base: dict[str, Snapshot], head: dict[str, Snapshot], project_dir: Path
) -> list[str]:
    if only_stack is not None:
        if only_stack not in base and only_stack not in head:
            raise UsageError(f"no stack {only_stack!r}: neither Pulumi.{only_stack}.yaml nor the base has it")
        return [only_stack]
    names = sorted(base.keys() | head.keys())
    if not names:
        raise UsageError(f"no stacks: neither {project_dir} nor the base has a Pulumi.<stack>.yaml")
    return names


def _code_changes(base: sides.Side, head: sides.Side, repository: tuple[Path, str] | None) -> list[str] | None:
    """Changed code paths, or None when the base has no code of its own to compare with."""
    if base.config_dir is not None or base.notes:
        return None
    if base.commit is not None and repository is not None:
        top, prefix = repository
        return git_changes(top, prefix, base.commit, head.commit)
    return directory_changes(base.project_dir, head.project_dir)
