"""How the roles were deployed when the action happened, and how we know.

A session name proves the person only if the role's trust pinned it *at that time*. Sources, best first:

- ``--as-deployed PATH``: a config directory or a saved ``plan --format json``, which the user says was deployed
  then;
- git: the config directory as of the last commit on the first-parent history of ``--git-ref`` (default ``HEAD``)
  that changed it before the action (``git log --first-parent --before``, then ``git archive`` into a temporary
  directory and the ordinary loader). A commit time is not a deploy time, and the answer says so;
- nothing: today's config still says which template the username fits, but it proves nothing about then.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from access.commands.whois.roles import KnownRole, known_roles, plan_roles
from access.commands.whois.times import iso, parse_time
from access.core import config
from access.core.model import Organisation
from access.errors import ConfigError, UsageError

SINCE_LOOKBACK = 30  # commits walked back to tell since when a role was pinned


@dataclass(frozen=True)
class Deployed:
    """The roles to match the username against, and whether they describe the time of the action."""

    roles: list[KnownRole]
    evidence: str | None  # how we know they were deployed like this then; None: we do not
    why_unknown: str = ""  # when evidence is None: why not
    pinned_since: Callable[[str], str] | None = None  # role ARN -> "since …" text (git history only)


def as_deployed(path: Path, environments: Callable[[Organisation], list[str]]) -> Deployed:
    """``--as-deployed``: a config directory, or a plan JSON file, as deployed at the time."""
    if path.is_dir():
        org = config.load(path, label=str(path).rstrip("/"))
        roles = known_roles(org, environments(org))
    else:
        try:
            document = json.loads(path.read_text())
        except OSError as error:
            raise UsageError(f"--as-deployed {path}: {error.strerror}") from None
        except ValueError:
            raise UsageError(f"--as-deployed {path}: neither a config directory nor plan JSON") from None
        if not isinstance(document, dict):
            raise UsageError(f"--as-deployed {path}: neither a config directory nor plan JSON")
        roles = plan_roles(document, f"--as-deployed {path}")
    return Deployed(roles, f"{path} (given as deployed at the time)")


@dataclass(frozen=True)
class Commit:
    sha: str
    time: datetime

    def describe(self) -> str:
        return f"commit {self.sha[:12]} ({iso(self.time)})"


class GitHistory:
    """The first-parent history of one ref, for one config directory."""

    def __init__(self, config_dir: Path, ref: str) -> None:
        self.config_dir = config_dir
        self.ref = ref
        top = self._git(config_dir, "rev-parse", "--show-toplevel") if config_dir.is_dir() else None
        self.top = Path(top.strip()) if top is not None else None
        self.path = ""
        if self.top is not None:
            try:
                self.path = config_dir.resolve().relative_to(self.top.resolve()).as_posix()
            except ValueError:  # a symlink out of the checkout
                self.top = None
        if self.path == ".":
            self.path = ""
        self._loaded: dict[str, Organisation | ConfigError] = {}

    @staticmethod
    def _git(where: Path, *args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, check=False)
        except OSError:
            return None
        return done.stdout if done.returncode == 0 else None

    def has_commit(self, ref: str) -> bool:
        assert self.top is not None
        return self._git(self.top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") is not None

    def commits_before(self, moment: datetime, limit: int) -> list[Commit]:
        """Commits that changed the config directory before ``moment``, newest first."""
        assert self.top is not None
        out = self._git(
            self.top, "log", "--first-parent", f"--max-count={limit}", f"--before={iso(moment)}",
            "--format=%H %cI", self.ref, "--", self.path or ".",
        )  # fmt: skip
        commits = []
        for line in (out or "").splitlines():
            sha, _, stamp = line.partition(" ")
            commits.append(Commit(sha, parse_time(stamp, "git commit time")))
        return commits

    def load(self, commit: Commit) -> Organisation:
        """The config directory as of ``commit``, through the ordinary loader (each commit read once)."""
        if commit.sha not in self._loaded:
            try:
                self._loaded[commit.sha] = self._load(commit)
            except ConfigError as error:
                self._loaded[commit.sha] = error
        loaded = self._loaded[commit.sha]
        if isinstance(loaded, ConfigError):
            raise loaded
        return loaded

    def _load(self, commit: Commit) -> Organisation:
        assert self.top is not None
        archive = subprocess.run(
            ["git", "-C", str(self.top), "archive", "--format=tar", commit.sha, "--", self.path or "."],
            capture_output=True,
            check=False,
        )
        with tempfile.TemporaryDirectory(prefix="eks-access-whois-") as temp:
            if archive.returncode == 0:
                with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                    tar.extractall(temp, filter="data")
            return config.load(Path(temp) / self.path, label=f"{self.path or '.'} at {commit.describe()}")


def from_git(
    config_dir: Path, ref: str, moment: datetime | None, environments: Callable[[Organisation], list[str]]
) -> Deployed | str:
    """The roles as the config stood at ``moment`` in git, or why that cannot be known."""
    history = GitHistory(config_dir, ref)
    if history.top is None:
        return f"{config_dir} is not in a git checkout"
    if moment is None:
        return "the action's time is unknown (give --at)"
    if not history.has_commit(ref):
        return f"--git-ref {ref} is not a commit in {history.top}"
    commits = history.commits_before(moment, SINCE_LOOKBACK)
    if not commits:
        return f"no commit on {ref} changed {history.path or '.'} before {iso(moment)}"
    at_event = commits[0]
    try:
        org = history.load(at_event)
    except ConfigError as error:
        return f"the config at {at_event.describe()} does not load with this version ({error})"
    roles = known_roles(org, environments(org))
    evidence = (
        f"{history.path or '.'} at {at_event.describe()}, the last change on {ref}'s first-parent history before "
        "the action (a commit time is not a deploy time: pass --as-deployed if it was applied later)"
    )

    def pinned_since(arn: str) -> str:
        return _pinned_since(history, commits, arn, environments)

    return Deployed(roles, evidence, pinned_since=pinned_since)


def _pinned_since(
    history: GitHistory, commits: list[Commit], arn: str, environments: Callable[[Organisation], list[str]]
) -> str:
    """Since which commit the role's trust has pinned the session name without a break."""
    oldest = commits[0]
    for commit in commits[1:]:
        try:
            org = history.load(commit)
        except ConfigError:
            return f"pinned since at least {oldest.describe()} (older configs do not load with this version)"
        if not _pins(known_roles(org, environments(org)), arn):
            return f"pinned since {oldest.describe()}"
        oldest = commit
    at_least = "at least " if len(commits) == SINCE_LOOKBACK else ""
    return f"pinned since {at_least}{oldest.describe()}"


def _pins(roles: Iterable[KnownRole], arn: str) -> bool:
    return any(r.arn == arn and r.pinned for r in roles)
