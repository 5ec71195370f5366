"""Which code changed between the two sides: the ``code`` category.

Each side is planned by its own code, so the effective-access diff shows what a code change does to access. But a
head's code is the head's to write: it could print a snapshot that hides what it grants. Any change to what runs
(the eks-access package, the policy pack, the workflows, the stack files that select what a stack applies, the
dependency files) is therefore reported by itself, and fails the check by default, whatever the snapshots say.
"""

from __future__ import annotations

import filecmp
import subprocess
from collections.abc import Iterator
from pathlib import Path

# Relative to the project directory (the one holding Pulumi.yaml).
PROJECT_DIRS = ("access", "policy")
PROJECT_FILES = ("__main__.py", "Pulumi.yaml", "Pulumi.*.yaml", "pyproject.toml", "requirements*.txt", "Makefile")
# Relative to the repository's top: the workflows, and CODEOWNERS wherever GitHub reads it.
REPO_DIRS = (".github",)
REPO_FILES = ("CODEOWNERS", "docs/CODEOWNERS")
SKIPPED_DIRS = frozenset({"__pycache__", "venv", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


def pathspecs(prefix: str) -> list[str]:
    """git pathspecs (glob magic) for every code path, ``prefix`` being the project's path in the repository."""
    specs = [f":(glob){prefix}{d}/**" for d in PROJECT_DIRS]
    specs += [f":(glob){prefix}{f}" for f in PROJECT_FILES]
    specs += [f":(glob){d}/**" for d in REPO_DIRS]
    specs += [f":(glob){f}" for f in REPO_FILES]
    return specs


def git_changes(top: Path, prefix: str, base: str, head: str | None) -> list[str]:
    """Code paths that differ between commit ``base`` and commit ``head`` (the working tree when None, untracked
    files included)."""
    specs = pathspecs(prefix)
    changed = _git_paths(
        top, ["diff", "--no-renames", "--name-only", "-z", base, *([head] if head else []), "--"], specs
    )
    if head is None:
        changed |= _git_paths(top, ["ls-files", "-z", "--others", "--exclude-standard", "--"], specs)
    return sorted(changed)


def _git_paths(top: Path, args: list[str], specs: list[str]) -> set[str]:
    from access.errors import UsageError

    result = subprocess.run(["git", "-C", str(top), *args, *specs], capture_output=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(f"git {args[0]} failed while looking for code changes: {lines[-1] if lines else 'no message'}")
    return {p for p in result.stdout.decode(errors="replace").split("\0") if p}


def directory_changes(base: Path, head: Path) -> list[str]:
    """Code paths that differ between two directories (a base checkout and the working tree)."""
    base_files, head_files = set(_code_files(base)), set(_code_files(head))
    changed = base_files ^ head_files
    changed |= {f for f in base_files & head_files if not filecmp.cmp(base / f, head / f, shallow=False)}
    return sorted(changed)


def _code_files(root: Path) -> Iterator[str]:
    for directory in (*PROJECT_DIRS, *REPO_DIRS):
        yield from _walk(root, root / directory)
    for pattern in (*PROJECT_FILES, *REPO_FILES):
        for path in root.glob(pattern):
            if path.is_file():
                yield path.relative_to(root).as_posix()


def _walk(root: Path, directory: Path) -> Iterator[str]:
    if not directory.is_dir():
        return
    for path in sorted(directory.iterdir()):
        if path.is_dir():
            if path.name not in SKIPPED_DIRS and not path.name.endswith(".egg-info"):
                yield from _walk(root, path)
        elif path.suffix != ".pyc":
            yield path.relative_to(root).as_posix()
