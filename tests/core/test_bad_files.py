"""Bad files and bad stack-file values: one line naming the file and key, exit 2, nothing applied (issue 12, 8 and 10).

Each case is a real broken file (a directory, a loop, a dangling symlink, a pipe, YAML nested too deep, a
recursive alias) or a wrong type in the stack file, run through ``python -m access plan`` in-process; the same
cases go through the Pulumi entry point in ``tests/stack/test_entry_point.py``. A hypothesis property writes
arbitrary bytes and structures into every file and checks the same promise.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.commands.cli import main
from access.core.config import FILES
from access.errors import ISSUES_HINT
from tests.helpers import ConfigTree

Project = Path
Breakage = Callable[[Project], None]


class Case(NamedTuple):
    id: str
    breakage: Breakage
    expected: str  # the line after "error: "
    args: tuple[str, ...] = ()


def replace_with_dir(name: str) -> Breakage:
    def breakage(project: Project) -> None:
        path = project / name
        path.unlink()
        path.mkdir()

    return breakage


def symlink(name: str, target: str) -> Breakage:
    def breakage(project: Project) -> None:
        path = project / name
        path.unlink(missing_ok=True)
        os.symlink(target, path)

    return breakage


def fifo(name: str) -> Breakage:
    def breakage(project: Project) -> None:
        path = project / name
        path.unlink()
        os.mkfifo(path)

    return breakage


def write(name: str, content: str) -> Breakage:
    def breakage(project: Project) -> None:
        (project / name).write_text(content)

    return breakage


def both(*breakages: Breakage) -> Breakage:
    def breakage(project: Project) -> None:
        for each in breakages:
            each(project)

    return breakage


def stack_value(key: str, value: str) -> Breakage:
    """Set ``key`` in Pulumi.dev.yaml to ``value`` (YAML text), adding the key if absent."""

    def breakage(project: Project) -> None:
        path = project / "Pulumi.dev.yaml"
        lines = [line for line in path.read_text().splitlines() if not line.strip().startswith(f"{key}:")]
        path.write_text("\n".join([*lines, f"  {key}: {value}"]) + "\n")

    return breakage


DEEP = "teams:\n  payments:\n    members: " + "[" * 200 + "]" * 200 + "\n"
DEEP_BLOCK = "teams:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(80)) + "  " * 81 + "v: 1\n"

CASES = [
    Case("config-file-is-a-directory", replace_with_dir("config/teams.yaml"), "config/teams.yaml: is a directory, "
         "not a YAML file"),
    Case("config-file-is-a-symlink-loop", symlink("config/environments.yaml", "environments.yaml"),
         "config/environments.yaml: is a symlink loop (it leads back to itself); point it at a file"),
    Case("config-file-is-a-dangling-symlink", symlink("config/access.yaml", "shared/access.yaml"),
         "config/access.yaml: is a symlink to 'shared/access.yaml', which does not exist"),
    Case("optional-settings-is-a-dangling-symlink", symlink("config/settings.yaml", "../org/settings.yaml"),
         "config/settings.yaml: is a symlink to '../org/settings.yaml', which does not exist"),
    Case("optional-settings-is-a-symlink-loop", symlink("config/settings.yaml", "settings.yaml"),
         "config/settings.yaml: is a symlink loop (it leads back to itself); point it at a file"),
    Case("optional-settings-is-a-directory", replace_with_dir("config/settings.yaml"),
         "config/settings.yaml: is a directory, not a YAML file"),
    Case("config-file-is-a-pipe", fifo("config/projects.yaml"),
         "config/projects.yaml: is not a regular file (a pipe or a device?); config files are YAML files"),
    Case("flow-nesting-deep-enough-for-a-recursion-error", write("config/teams.yaml", DEEP),
         "config/teams.yaml: nested more than 64 levels deep at line 3; config never is"),
    Case("block-nesting-too-deep", write("config/teams.yaml", DEEP_BLOCK),
         "config/teams.yaml: nested more than 64 levels deep at line 65; config never is"),
    Case("recursive-alias-in-a-config-file", write("config/teams.yaml", "teams: &t\n  payments: {members: *t}\n"),
         "config/teams.yaml: recursive alias *t at line 2: it refers to a value that contains it; an alias may not "
         "refer to its own ancestor"),
    Case("recursive-alias-in-a-list", write("config/projects.yaml", "projects: &p [*p]\n"),
         "config/projects.yaml: recursive alias *p at line 1: it refers to a value that contains it; an alias may "
         "not refer to its own ancestor"),
    Case("recursive-alias-in-the-stack-file", write("Pulumi.dev.yaml", "config: &c\n  access:environment: *c\n"),
         "Pulumi.dev.yaml: recursive alias *c at line 2: it refers to a value that contains it; an alias may not "
         "refer to its own ancestor"),
    Case("stack-file-is-a-directory", replace_with_dir("Pulumi.dev.yaml"),
         "Pulumi.dev.yaml: is a directory, not a YAML file"),
    Case("stack-file-is-a-dangling-symlink", symlink("Pulumi.dev.yaml", "stacks/dev.yaml"),
         "Pulumi.dev.yaml: is a symlink to 'stacks/dev.yaml', which does not exist"),
    Case("environment-of-the-wrong-type", stack_value("access:environment", "42"),
         "Pulumi.dev.yaml: config.access:environment: must be a string (the environment id this stack applies, "
         "e.g. dev), found number 42"),
    Case("environment-with-a-line-break", stack_value("access:environment", '"dev\\n"'),
         "Pulumi.dev.yaml: config.access:environment: 'dev\\n' holds a line break, a control character or "
         "surrounding spaces; write the environment id this stack applies, e.g. dev alone"),
    Case("auth-mode-of-the-wrong-type", stack_value("access:authMode", "[api]"),
         "Pulumi.dev.yaml: config.access:authMode: must be a string (one of config_map, api_and_config_map, api), "
         "found a list"),
    Case("cluster-stack-of-the-wrong-type",
         both(stack_value("access:clusterSource", "stack"), stack_value("access:clusterStack", "42")),
         "Pulumi.dev.yaml: config.access:clusterStack: must be a string (the cluster stack's name, e.g. "
         "acme/eks-clusters/dev), found number 42"),
    Case("cluster-stack-not-a-stack-name",
         both(stack_value("access:clusterSource", "stack"), stack_value("access:clusterStack", "'a b'")),
         "Pulumi.dev.yaml: config.access:clusterStack: 'a b' is not a stack name like acme/eks-clusters/dev "
         "(letters, digits, - _ . between slashes)"),
    Case("cluster-stack-without-the-stack-source", stack_value("access:clusterStack", "acme/eks/dev"),
         "Pulumi.dev.yaml: config.access:clusterStack: only read with access:clusterSource stack (this stack's "
         "source is existing); remove it"),
    Case("aws-auth-exists-not-a-boolean", stack_value("access:awsAuthExists", "maybe"),
         "Pulumi.dev.yaml: config.access:awsAuthExists: 'maybe' must be true or false"),
    Case("deploy-role-with-trailing-space",
         stack_value("access:deployRoleArn", "'arn:aws:iam::111122223333:role/deployer '"),
         "Pulumi.dev.yaml: config.access:deployRoleArn: 'arn:aws:iam::111122223333:role/deployer ' holds a line "
         "break, a control character or surrounding spaces; write the role ARN the Kubernetes provider assumes "
         "alone"),
    Case("deploy-role-that-is-a-user", stack_value("access:deployRoleArn", "arn:aws:iam::111122223333:user/ci"),
         "Pulumi.dev.yaml: config.access:deployRoleArn: 'arn:aws:iam::111122223333:user/ci' is not a role ARN"),
    Case("region-of-the-wrong-shape", stack_value("aws:region", "'eu west 1'"),
         "Pulumi.dev.yaml: config.aws:region: 'eu west 1' is not an AWS region like eu-west-1"),
    Case("allowed-account-in-full-width-digits", stack_value("aws:allowedAccountIds", '["１１１１２２２２３３３３"]'),
         "Pulumi.dev.yaml: config.aws:allowedAccountIds: '１１１１２２２２３３３３' is not a 12-digit account id; "
         'quote it, e.g. ["011122223333"]'),
    # YAML 1.1 reads an unquoted 011122223333 as an octal number.
    Case("allowed-account-that-lost-its-leading-zero", stack_value("aws:allowedAccountIds", "[011122223333]"),
         "Pulumi.dev.yaml: config.aws:allowedAccountIds: '1229530843' is not a 12-digit account id; quote it, "
         'e.g. ["011122223333"]'),
    Case("config-dir-given-on-the-command-line", replace_with_dir("config/environments.yaml"),
         "config/environments.yaml: is a directory, not a YAML file", ("--config", "config")),
]  # fmt: skip


def project(root: Path) -> Project:
    return ConfigTree(root).project()


def plan(project: Project, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["plan", "--stack", "dev", "--project-dir", str(project), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_file_is_one_line_and_exit_2(tmp_path: Path, case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    case.breakage(root)
    cwd = os.getcwd()
    os.chdir(root)  # --config is relative to the working directory, as typed
    try:
        code, out, err = plan(root, *case.args, capsys=capsys)
    finally:
        os.chdir(cwd)
    assert (code, out, err) == (2, "", f"error: {case.expected}\n")


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


def test_unreadable_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Root reads any file, so permission is simulated where reading happens (a real chmod 000 runs as non-root)."""
    root = project(tmp_path)
    teams = root / "config" / "teams.yaml"
    if os.geteuid() != 0:
        teams.chmod(0)
    else:
        real = Path.read_text

        def read_text(self: Path, *args: Any, **kwargs: Any) -> str:
            if self.name == "teams.yaml":
                raise PermissionError(13, "Permission denied")
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Path, "read_text", read_text)
    assert plan(root, capsys=capsys) == (2, "", "error: config/teams.yaml: cannot be read: Permission denied\n")


def test_messages_name_the_config_directory_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --config DIR, every line names DIR's files, also those raised after loading (the account check)."""
    root = project(tmp_path)
    other = tmp_path / "other-org"
    (root / "config").rename(other)
    stack = root / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace('["111122223333"]', '["444455556666"]'))
    assert plan(root, "--config", str(other), capsys=capsys) == (
        2,
        "",
        "error: Pulumi.dev.yaml: config.aws:allowedAccountIds: ['444455556666'] does not match account 'main' "
        f"(111122223333) of environment 'dev' in {other}/environments.yaml; set it to [\"111122223333\"]\n",
    )


# --- the property: anything in any file is either a plan or exactly one line and exit 2 ---------------------------

TARGETS = [f"config/{name}" for name in FILES] + ["Pulumi.dev.yaml"]
SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def damage(draw: st.DrawFn) -> tuple[str, str, Any]:
    target = draw(st.sampled_from(TARGETS))
    mode = draw(st.sampled_from(["bytes", "document", "value"]))
    payload = draw(st.binary(max_size=300)) if mode == "bytes" else draw(STRUCTURES)
    return target, mode, payload


def apply_damage(root: Project, target: str, mode: str, payload: Any) -> None:
    path = root / target
    if mode == "bytes":
        path.write_bytes(payload)
        return
    if mode == "document":
        path.write_text(yaml.safe_dump(payload))
        return
    data = yaml.safe_load(path.read_text()) or {"placeholder": None}
    section = data["config"] if target == "Pulumi.dev.yaml" else data
    key = sorted(section)[len(str(payload)) % len(section)]  # a deterministic pick among the existing keys
    section[key] = payload
    path.write_text(yaml.safe_dump(data))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damage())
def test_anything_in_any_file_is_one_line_and_exit_2(damage: tuple[str, str, Any]) -> None:
    import contextlib
    import io

    target, mode, payload = damage
    with tempfile.TemporaryDirectory() as tmp:
        root = project(Path(tmp))
        apply_damage(root, target, mode, payload)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["plan", "--stack", "dev", "--project-dir", str(root), "--format", "json"])
    if code == 0:  # still a valid organisation (e.g. a harmless value): a plan, nothing to refuse
        return
    lines = err.getvalue().splitlines()
    assert code == 2 and out.getvalue() == "", (code, err.getvalue())
    assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].isprintable(), err.getvalue()
    assert ISSUES_HINT not in lines[0], lines[0]  # the project's own message, never the last-resort one
    assert lines[0].startswith(("error: config/", "error: Pulumi.dev.yaml")), lines[0]
