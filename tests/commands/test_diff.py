"""``python -m access diff``: the access change between two configs, with sensitive changes first.

Pure comparisons on planned snapshots, then the command against real directories and real git repositories.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.commands import cli
from access.commands.diff.compare import compare
from access.commands.diff.flags import TRUST, describe, permission_categories
from access.commands.diff.snapshot import RuleSets, snapshot_of
from access.commands.diff.types import Flag, Permission, StackDiff
from access.core.config import load
from access.core.model import AuthMode, Organisation
from access.core.plan.environment import plan_environment
from access.core.sensitivity import Sensitivity
from access.errors import ConfigError
from tests.helpers import REPO, SAMPLE_CONFIG, ConfigTree

CLUSTER_ADMIN = Sensitivity.CLUSTER_ADMIN
SYSTEM = Sensitivity.SYSTEM
EXEC = Sensitivity.EXEC
SECRETS = Sensitivity.SECRETS
ESCALATION = Sensitivity.ESCALATION
WORKLOADS = Sensitivity.WORKLOAD_SECRETS

ALL = ["cluster-admin", "system", "exec", "secrets", "escalation", "secrets-via-workloads", "trust", "code"]
MODES = {"dev": AuthMode.CONFIG_MAP, "staging": AuthMode.API_AND_CONFIG_MAP, "prod": AuthMode.API}
Edit = Callable[[ConfigTree], None]


def snapshot(plan: Any, org: Organisation, rule_sets: RuleSets | None = None) -> Any:
    return snapshot_of(plan, org, rule_sets or RULE_SETS)


RULE_SETS = RuleSets()


def diff_between(env: str, base: Any, head: Any) -> StackDiff:
    return compare(env, base, head, RULE_SETS)


def dangerous(diffs: list[StackDiff], fail_on: list[str]) -> list[Flag]:
    return [f for d in diffs for f in d.flags if f.fails(fail_on)]


def diff_of(sample_org: Organisation, tree: ConfigTree, edit: Edit, env: str) -> StackDiff:
    edit(tree)
    org = tree.load()
    base = snapshot(plan_environment(sample_org, env, MODES[env]), sample_org)
    head = snapshot(plan_environment(org, env, MODES[env]), org)
    return diff_between(env, base, head)


def texts(diff: StackDiff) -> list[tuple[tuple[str, ...], str, bool]]:
    return [(f.categories, f.text, f.counts) for f in diff.flags]


# --- what counts as sensitive ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "group", "resource", "verb", "expected"),
    [
        ("ns", "", "pods", "get", set()),
        ("ns", "", "pods/exec", "create", {EXEC}),
        ("ns", "", "pods/exec", "get", {EXEC}),  # WebSocket exec is authorised as get up to Kubernetes 1.34
        ("ns", "", "pods/attach", "get", {EXEC}),
        ("ns", "", "pods/portforward", "get", {EXEC}),
        ("ns", "", "pods/ephemeralcontainers", "patch", {EXEC}),  # kubectl debug
        ("ns", "", "pods/ephemeralcontainers", "get", set()),
        ("ns", "", "pods/attach", "create", {EXEC}),
        ("ns", "", "pods/portforward", "create", {EXEC}),
        ("ns", "", "*/exec", "create", {EXEC}),
        ("ns", "apps", "pods/exec", "create", set()),  # no such resource outside the core group
        ("ns", "", "secrets", "list", {SECRETS}),
        ("ns", "", "secrets", "create", set()),  # writing a secret does not reveal one
        ("ns", "", "secrets", "*", {SECRETS}),
        ("ns", "", "serviceaccounts/token", "create", {ESCALATION}),
        ("ns", "", "serviceaccounts/token", "get", set()),  # only create mints a token
        ("ns", "apps", "deployments", "create", {WORKLOADS}),  # its pods may mount any secret
        ("ns", "apps", "deployments", "patch", {WORKLOADS}),
        ("ns", "", "pods", "create", {WORKLOADS}),
        ("ns", "certificates.k8s.io", "signers", "approve", {ESCALATION}),
        ("*", "", "nodes/proxy", "get", {ESCALATION}),
        ("ns", "rbac.authorization.k8s.io", "roles", "bind", {ESCALATION}),
        ("ns", "rbac.authorization.k8s.io", "roles", "*", {ESCALATION}),
        ("ns", "", "serviceaccounts", "impersonate", {ESCALATION}),
        ("ns", "*", "*", "*", {EXEC, SECRETS, ESCALATION, WORKLOADS}),  # namespace admin
        ("*", "*", "*", "*", {CLUSTER_ADMIN, EXEC, SECRETS, ESCALATION, WORKLOADS}),
    ],
)
def test_permission_categories(namespace: str, group: str, resource: str, verb: str, expected: set[str]) -> None:
    assert permission_categories(Permission("alice", namespace, group, resource, verb)) == expected


def test_describe_groups_resources_by_verbs() -> None:
    perms = [
        Permission("a", "ns", "", "pods", "get"),
        Permission("a", "ns", "", "pods", "list"),
        Permission("a", "ns", "", "pods/exec", "create"),
        Permission("a", "ns", "apps", "deployments", "get"),
    ]
    assert describe(perms) == "create pods/exec; get apps/deployments; get,list pods"
    assert describe([*perms, Permission("a", "ns", "*", "*", "*")]) == "everything (* on */*)"


# --- comparing plans --------------------------------------------------------------------------------------------


def test_identical_configs_give_no_changes(sample_org: Organisation) -> None:
    for env, mode in MODES.items():
        same = snapshot(plan_environment(sample_org, env, mode), sample_org)
        diff = diff_between(env, same, same)
        assert diff.status == "unchanged" and diff.empty and diff.flags == []


def test_view_to_operate_in_prod_flags_exec(sample_org: Organisation, tree: ConfigTree) -> None:
    diff = diff_of(
        sample_org,
        tree,
        lambda t: t.edit("access.yaml", lambda d: d["grants"]["payments"]["projecta"].update(prod="operate")),
        "prod",
    )
    assert diff.levels_changed == [
        ("alice", "projecta-prod", ("view",), ("operate",)),
        ("bob", "projecta-prod", ("view",), ("operate",)),
    ]
    assert sorted({p.principal for p in diff.gained}) == ["alice", "bob"]
    assert [p for p in diff.gained if p.principal == "alice"] == [
        Permission("alice", "projecta-prod", "", "pods/exec", "create"),
        Permission("alice", "projecta-prod", "", "pods/exec", "get"),
    ]
    assert texts(diff) == [
        (("exec",), "alice gains create,get pods/exec in projecta-prod", True),
        (("exec",), "bob gains create,get pods/exec in projecta-prod", True),
    ]
    # Principals, roles, namespaces are the same: only the level changed.
    assert not (diff.principals_added or diff.roles_added or diff.namespaces_added or diff.assumable_added)
    assert dangerous([diff], ALL) == diff.flags
    assert dangerous([diff], ["secrets", "cluster-admin"]) == []


@pytest.mark.parametrize(("team", "member"), [("payments", "alice"), ("search", "dave"), ("platform", "erin")])
def test_removing_a_member_only_removes_access(
    sample_org: Organisation, tree: ConfigTree, team: str, member: str
) -> None:
    def remove(t: ConfigTree) -> None:
        t.edit("teams.yaml", lambda d: d["teams"][team]["members"].remove(member))
        if team == "platform":  # erin is dev's only admin: the plan refuses the gap unless config declares it
            t.edit("environments.yaml", lambda d: d["clusters"]["dev"].update(external_admins="SSO admins"))

    diff = diff_of(sample_org, tree, remove, "dev")
    assert diff.principals_removed == [member]
    assert diff.gained == [] and diff.principals_added == [] and diff.assumable_added == []
    assert diff.lost and all(p.principal == member for p in diff.lost)
    assert dangerous([diff], ALL) == []
    # The admin role's trust names its members (closed trust): dropping one narrows it, listed but never failing.
    narrowed = "trust policy of role dev-cluster-admins only drops members it named"
    assert all(not f.counts and (f.text.startswith(f"{member} loses ") or f.text == narrowed) for f in diff.flags)


def test_new_cluster_admin_is_flagged_first(sample_org: Organisation, tree: ConfigTree) -> None:
    diff = diff_of(
        sample_org,
        tree,
        lambda t: t.edit("teams.yaml", lambda d: d["teams"]["platform"]["members"].append("zoe")),
        "dev",
    )
    assert diff.principals_added == ["zoe"]
    assert diff.assumable_added == [("zoe", "dev-cluster-admins")]
    assert texts(diff) == [
        (
            ("cluster-admin", "exec", "secrets", "escalation", "secrets-via-workloads"),
            "zoe gains everything (* on */*) cluster-wide",
            True,
        ),
        # The admin role's closed trust now names zoe too: who may assume it changes, and that fails too.
        (("trust",), "trust policy of role dev-cluster-admins changes (who may assume it)", True),
    ]


def test_new_project_adds_namespace_role_and_access(sample_org: Organisation, tree: ConfigTree) -> None:
    def add_project(t: ConfigTree) -> None:
        t.edit("projects.yaml", lambda d: d["projects"].update(projectc={"owner": "search", "environments": ["dev"]}))
        t.edit("access.yaml", lambda d: d["grants"]["search"].update(projectc={"dev": "view"}))

    diff = diff_of(sample_org, tree, add_project, "dev")
    assert diff.namespaces_added == ["projectc-dev"]
    assert diff.roles_added == ["projectc-dev-humans"]
    # Open trust (roles.trust: account): the account's other IAM users may assume it with their own policies.
    assert diff.assumable_added == [
        ("account 111122223333 (any IAM user its own policies allow)", "projectc-dev-humans"),
        ("carol", "projectc-dev-humans"),
        ("dave", "projectc-dev-humans"),
    ]
    assert diff.mappings_added[0].section == "mapRoles"
    assert diff.mappings_added[0].arn == "arn:aws:iam::111122223333:role/projectc-dev-humans"
    assert diff.flags == []  # view: no exec, no secrets, no system group


def test_custom_level_reading_secrets_is_flagged(sample_org: Organisation, tree: ConfigTree) -> None:
    def secrets_reader(t: ConfigTree) -> None:
        def change(d: dict[str, Any]) -> None:
            d["levels"] = {
                "secret-reader": {
                    "allow_escalation": True,
                    "rules": [{"api_groups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
                }
            }
            d["grants"]["search"]["projectb"]["staging"] = "secret-reader"

        t.edit("access.yaml", change)

    diff = diff_of(sample_org, tree, secrets_reader, "staging")
    gains = [f for f in texts(diff) if f[2]]
    assert gains == [
        (("secrets",), "carol gains get,list secrets in projectb-staging", True),
        (("secrets",), "dave gains get,list secrets in projectb-staging", True),
    ]


def test_trust_policy_change_is_flagged_per_role(sample_org: Organisation, tree: ConfigTree) -> None:
    diff = diff_of(
        sample_org, tree, lambda t: t.edit("settings.yaml", lambda d: d["roles"]["mfa"].update(required=True)), "dev"
    )
    assert ("dev-cluster-admins", ["trustPolicy"]) in diff.roles_changed
    assert ((TRUST,), "trust policy of role projecta-dev-humans changes (who may assume it)", True) in texts(diff)
    assert diff.gained == [] and diff.lost == []


def test_break_glass_in_aws_auth_is_cluster_admin_and_system(sample_org: Organisation, tree: ConfigTree) -> None:
    arn = "arn:aws:iam::111122223333:role/eks-dev-break-glass"
    diff = diff_of(
        sample_org,
        tree,
        lambda t: t.edit("environments.yaml", lambda d: d["clusters"]["dev"].update(break_glass_role=arn)),
        "dev",
    )
    assert texts(diff) == [
        (
            (CLUSTER_ADMIN, EXEC, SECRETS, ESCALATION, WORKLOADS),
            f"{arn} gains everything (* on */*) cluster-wide",
            True,
        ),
        (
            (CLUSTER_ADMIN, SYSTEM),
            f"aws-auth mapRoles adds {arn} -> break-glass:{{{{SessionName}}}} [system:masters]",
            True,
        ),
    ]


def test_removing_a_node_role_counts(sample_org: Organisation, tree: ConfigTree) -> None:
    diff = diff_of(
        sample_org,
        tree,
        lambda t: t.edit("environments.yaml", lambda d: d["clusters"]["dev"]["node_roles"].pop(1)),
        "dev",
    )
    assert texts(diff) == [
        (
            (SYSTEM,),
            "aws-auth mapRoles removes arn:aws:iam::111122223333:role/eks-dev-fargate-pods -> "
            "system:node:{{SessionName}} [system:bootstrappers, system:nodes, system:node-proxier]",
            True,
        )
    ]


def test_node_access_entry_added_in_api_mode(sample_org: Organisation, tree: ConfigTree) -> None:
    arn = "arn:aws:iam::111122223333:role/eks-prod-gpu-nodes"
    diff = diff_of(
        sample_org,
        tree,
        lambda t: t.edit("environments.yaml", lambda d: d["clusters"]["prod"]["node_roles"].append({"arn": arn})),
        "prod",
    )
    assert diff.mappings_added == []  # api mode: no aws-auth
    assert texts(diff) == [((SYSTEM,), f"adds access entry {arn} (EC2_LINUX)", True)]


def test_added_and_removed_stacks() -> None:
    org = load(SAMPLE_CONFIG)
    dev = snapshot(plan_environment(org, "dev"), org)
    added = diff_between("dev", None, dev)
    assert added.status == "added"
    # Principals as the access evaluator finds them: people, the machines behind the CI and monitoring roles,
    # the CI ServiceAccounts, and the open-trust "any IAM user of the account" of the project roles.
    assert added.principals_added == [
        "account 111122223333 (any IAM user its own policies allow)",
        "alice",
        "arn:aws:iam::111122223333:role/jenkins",
        "arn:aws:iam::111122223333:role/prometheus",
        "bob",
        "carol",
        "dave",
        "erin",
        "serviceaccount:projecta-dev:jenkins-deployer",
        "serviceaccount:projectb-dev:jenkins-deployer",
    ]
    removed = diff_between("dev", dev, None)
    assert removed.status == "removed" and removed.gained == [] and len(removed.lost) == len(added.gained)


# --- the command on directories -------------------------------------------------------------------------------


def project(root: Path, edit: Callable[[ConfigTree], None] | None = None) -> Path:
    tree = ConfigTree(root)
    if edit:
        edit(tree)
    return tree.project()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["diff", *args])
    out, err = capsys.readouterr()
    return code, out, err


def grant_prod_operate(t: ConfigTree) -> None:
    t.edit("access.yaml", lambda d: d["grants"]["payments"]["projecta"].update(prod="operate"))


def test_directory_base_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = project(tmp_path / "base")
    head = project(tmp_path / "head", grant_prod_operate)
    code, out, err = run_cli(capsys, "--base", str(base), "--project-dir", str(head))
    assert (code, err) == (1, "")
    assert out.startswith(
        f"### eks-access diff: `{base}` → `working tree`\n\n> [!CAUTION]\n> **2 sensitive changes** (exec)."
    )
    assert "| 🔴 | exec | `prod` | `gains create,get pods/exec` | `projecta-prod` | `alice`, `bob` |\n" in out
    assert "#### `dev` (environment `dev`)\n\nNo changes.\n" in out
    assert "| access level | `alice in projecta-prod: view -> operate` |\n" in out
    assert "| `alice` | `projecta-prod` | `create,get pods/exec` |\n" in out
    assert "| output removed | `roleArns.projecta.view: arn:aws:iam::111122223333:role/projecta-prod-humans` |" in out
    # The summary, then sensitive changes, then the stacks, the last environment (prod) first.
    assert out.index("#### Summary") < out.index("#### Sensitive changes") < out.index("#### `prod`")
    assert out.index("#### `prod`") < out.index("#### `staging`") < out.index("#### `dev`")


def test_fail_on_selects_categories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = project(tmp_path / "base")
    head = project(tmp_path / "head", grant_prod_operate)
    code, out, _ = run_cli(capsys, "--base", str(base), "--project-dir", str(head), "--fail-on", "secrets,system")
    assert code == 0
    assert "No sensitive access changes (checked: system, secrets)." in out
    assert "| ⚪ | exec | `prod` | `gains create,get pods/exec` | `projecta-prod` | `alice`, `bob` |" in out
    code, _, _ = run_cli(capsys, "--base", str(base), "--project-dir", str(head), "--fail-on", "none")
    assert code == 0


def test_bare_config_directory_base_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = project(tmp_path / "base")
    head = project(tmp_path / "head", grant_prod_operate)
    code, out, _ = run_cli(
        capsys, "--base", str(base / "config"), "--project-dir", str(head), "--stack", "prod", "--format", "json"
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["schemaVersion"] == 2 and doc["dangerous"] is True and doc["failOn"] == ALL
    assert doc["codeChanges"] == [] and doc["head"] == "working tree"
    assert doc["notes"] == [
        f"The base {base / 'config'} is a config directory: it was planned with the head's code and stack files, "
        "and code changes were not compared."
    ]
    assert doc["flagged"][0] == {
        "categories": ["exec"],
        "fails": True,
        "stack": "prod",
        "summary": "alice gains create,get pods/exec in projecta-prod",
    }
    (stack,) = doc["stacks"]
    assert stack["stack"] == "prod" and stack["status"] == "changed"
    assert stack["permissions"]["gained"][0] == {
        "principal": "alice",
        "namespace": "projecta-prod",
        "apiGroup": "",
        "resource": "pods/exec",
        "verb": "create",
    }
    assert stack["levels"] == [
        {"principal": "alice", "namespace": "projecta-prod", "before": ["view"], "after": ["operate"]},
        {"principal": "bob", "namespace": "projecta-prod", "before": ["view"], "after": ["operate"]},
    ]


def test_text_format_and_no_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = project(tmp_path / "base")
    code, out, _ = run_cli(capsys, "--base", str(base), "--project-dir", str(REPO), "--format", "text")
    assert code == 0
    assert out == (
        f"eks-access diff: {base} -> working tree\n"
        f"note: The base {base} has no eks-access code of its own: it was planned with the head's code, and code "
        "changes were not compared.\n"
        "dev (environment dev): unchanged\n"
        "staging (environment staging): unchanged\n"
        "prod (environment prod): unchanged\n"
    )


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = project(tmp_path / "base", lambda t: t.write("teams.yaml", "teams: [oops\n"))
    code, out, err = run_cli(capsys, "--base", str(base), "--project-dir", str(REPO))
    assert code == 2 and out == ""
    assert err.startswith(f"error: {base / 'config'}/teams.yaml: ") and err.count("\n") == 1
    code, _, err = run_cli(capsys, "--base", str(base), "--fail-on", "exec,root")
    assert code == 2
    assert err == (
        "error: --fail-on: unknown category root; expected a comma-separated list of cluster-admin, system, exec, "
        "secrets, escalation, secrets-via-workloads, trust, code, or none\n"
    )
    code, _, err = run_cli(capsys, "--base", str(tmp_path / "base"), "--project-dir", str(REPO), "--stack", "qa")
    assert code == 2
    assert err == "error: no stack 'qa': neither Pulumi.qa.yaml nor the base has it\n"


# --- the command on git refs ------------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose project lives in ``infra/``, committed once."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    project(root / "infra")
    (root / "README.md").write_text("app\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    return root


def test_git_ref_base_in_a_subdirectory(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    infra = repo / "infra"
    access = infra / "config" / "access.yaml"
    data = yaml.safe_load(access.read_text())
    data["grants"]["payments"]["projecta"]["prod"] = "operate"
    access.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, err = run_cli(capsys, "--base", "main", "--project-dir", str(infra), "--format", "text")
    assert (code, err) == (1, "")
    assert out.splitlines()[:5] == [
        "eks-access diff: main -> working tree",
        "note: eks-access is not part of this project: both sides were planned with the installed eks-access; a "
        "change of its version shows as a change of the dependency files.",
        "SENSITIVE: 2 change(s) in checked categories "
        "(cluster-admin, system, exec, secrets, escalation, secrets-via-workloads, trust, code)",
        "  !! [exec] prod: alice gains create,get pods/exec in projecta-prod",
        "  !! [exec] prod: bob gains create,get pods/exec in projecta-prod",
    ]
    # Committed, the same change compared with the previous commit; HEAD itself shows nothing.
    git(repo, "commit", "-q", "-am", "prod operate")
    code, out, _ = run_cli(
        capsys, "--base", "HEAD~1", "--project-dir", str(infra), "--stack", "prod", "--format", "json"
    )
    assert code == 1 and json.loads(out)["base"] == "HEAD~1"
    code, out, _ = run_cli(capsys, "--base", "HEAD", "--project-dir", str(infra), "--format", "text")
    assert code == 0 and out.count(": unchanged") == 3


def test_git_ref_errors(repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    infra = repo / "infra"
    code, out, err = run_cli(capsys, "--base", "no-such-branch", "--project-dir", str(infra))
    assert (code, out) == (2, "")
    assert err == (
        "error: --base no-such-branch: not a directory and not a commit in this repository (git fetch it first?)\n"
    )
    outside = project(tmp_path / "plain")
    code, _, err = run_cli(capsys, "--base", "main", "--project-dir", str(outside))
    assert code == 2
    assert err == f"error: --base main: not a directory, and {outside} is not in a git repository\n"
    (infra / "config" / "teams.yaml").write_text("teams: {}\n")
    git(repo, "commit", "-q", "-am", "break teams")
    shutil.copy(SAMPLE_CONFIG / "teams.yaml", infra / "config" / "teams.yaml")
    code, _, err = run_cli(capsys, "--base", "HEAD", "--project-dir", str(infra))
    assert code == 2
    assert err.startswith("error: HEAD:config/") and err.count("\n") == 1


def test_git_ref_before_the_config_existed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("empty\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "empty")
    project(root)
    code, out, _ = run_cli(capsys, "--base", "main", "--project-dir", str(root), "--stack", "dev", "--format", "json")
    doc = json.loads(out)
    (stack,) = doc["stacks"]
    assert stack["status"] == "added"  # the base has no stack files at all
    assert stack["namespaces"]["added"] == ["projecta-dev", "projectb-dev"]
    assert code == 1  # erin becomes cluster-admin, node roles enter aws-auth, and the stack files are new
    assert doc["codeChanges"] == ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml", "Pulumi.yaml"]


def test_flag_fails_only_for_counted_changes_in_selected_categories() -> None:
    gain = Flag((EXEC, SECRETS), "dev", "x gains", True)
    loss = Flag((EXEC,), "dev", "x loses", False)
    assert gain.fails(["secrets"]) and not gain.fails(["trust"]) and not loss.fails(ALL)


def test_a_directory_without_stacks_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    (empty / "config").mkdir(parents=True)
    code, out, err = run_cli(capsys, "--base", str(empty / "config"), "--project-dir", str(empty))
    assert (code, out) == (2, "")
    assert err == f"error: no stacks: neither {empty} nor the base has a Pulumi.<stack>.yaml\n"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_removing_grants_or_members_never_adds_access(sample_org: Organisation, data: st.DataObject) -> None:
    grants = data.draw(st.lists(st.sampled_from(sample_org.grants), unique=True), label="grants removed")
    members = data.draw(
        st.lists(st.sampled_from([(t.id, m) for t in sample_org.teams.values() for m in t.members]), unique=True),
        label="members removed",
    )
    teams = {
        tid: dataclasses.replace(team, members=tuple(m for m in team.members if (tid, m) not in members))
        for tid, team in sample_org.teams.items()
    }
    smaller = dataclasses.replace(
        sample_org, grants=tuple(g for g in sample_org.grants if g not in grants), teams=teams
    )
    for env, mode in MODES.items():
        try:
            after = plan_environment(smaller, env, mode)
        except ConfigError as refusal:  # the last admin removed: the plan refuses, nothing is applied
            assert "would have no admin path" in str(refusal)
            continue
        diff = diff_between(
            env, snapshot(plan_environment(sample_org, env, mode), sample_org), snapshot(after, smaller)
        )
        assert diff.gained == [] and diff.principals_added == [] and diff.assumable_added == []
        assert diff.roles_added == [] and diff.namespaces_added == [] and diff.mappings_added == []
        assert dangerous([diff], ALL) == []


# --- each side planned by its own code --------------------------------------------------------------------------

CODE_FILES = ("access", "policy", "__main__.py", "pyproject.toml", "requirements.txt", ".gitignore")


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture
def code_repo(tmp_path: Path) -> Path:
    """A clone-like repository holding the eks-access code itself beside the config, committed once."""
    root = tmp_path / "clone"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for name in CODE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "venv", "*.pyc"))
        else:
            shutil.copy(source, root / name)
    project(root)
    commit_all(root, "base")
    return root


def edit_file(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def test_a_commit_that_changes_only_code_fails_and_says_so(code_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = code_repo / "access" / "core" / "names.py"
    names.write_text(names.read_text() + "\n# a harmless-looking line\n")
    commit_all(code_repo, "code only")
    code, out, err = run_cli(capsys, "--base", "HEAD~1", "--project-dir", str(code_repo), "--format", "text")
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "eks-access diff: HEAD~1 -> working tree",
        "SENSITIVE: 1 change(s) in checked categories "
        "(cluster-admin, system, exec, secrets, escalation, secrets-via-workloads, trust, code)",
        "  !! [code] code changes: access/core/names.py",
        "dev (environment dev): unchanged",
        "staging (environment staging): unchanged",
        "prod (environment prod): unchanged",
    ]
    code, _, _ = run_cli(capsys, "--base", "HEAD~1", "--project-dir", str(code_repo), "--fail-on", "exec,secrets")
    assert code == 0  # the code category is one of the --fail-on categories, like every other


def test_secret_reads_added_to_a_built_in_level_show_per_principal(
    code_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_file(
        code_repo / "access" / "core" / "catalog.py",
        '        rule(("events.k8s.io",), ("events",), READ),\n    ),\n)\n\n# What a deployer',
        '        rule(("events.k8s.io",), ("events",), READ),\n        rule(("",), ("secrets",), ("get", "list")),\n'
        "    ),\n)\n\n# What a deployer",
    )
    commit_all(code_repo, "operate reads secrets")
    for head in ([], ["--head", "HEAD"]):  # the working tree, or the commit: each side runs its own code
        code, out, err = run_cli(capsys, "--base", "HEAD~1", "--project-dir", str(code_repo), "--format", "json", *head)
        assert (code, err) == (1, "")
        doc = json.loads(out)
        assert doc["codeChanges"] == ["access/core/catalog.py"]
        summaries = [f["summary"] for f in doc["flagged"] if f["fails"]]
        assert summaries == [
            "code changes: access/core/catalog.py",
            "alice gains get,list secrets in projecta-dev",
            "bob gains get,list secrets in projecta-dev",
            "carol gains get,list secrets in projectb-dev",
            "dave gains get,list secrets in projectb-dev",
            "alice gains get,list secrets in projecta-staging",
            "bob gains get,list secrets in projecta-staging",
            "carol gains get,list secrets in projectb-staging",
            "dave gains get,list secrets in projectb-staging",
        ]
        dev = doc["stacks"][0]
        assert dev["permissions"]["gained"][:2] == [
            {"principal": "alice", "namespace": "projecta-dev", "apiGroup": "", "resource": "secrets", "verb": "get"},
            {"principal": "alice", "namespace": "projecta-dev", "apiGroup": "", "resource": "secrets", "verb": "list"},
        ]
        assert dev["permissions"]["lost"] == [] and dev["levels"] == []  # same level, new meaning


def test_a_base_whose_code_cannot_print_a_snapshot_fails_in_one_line(
    code_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = code_repo / "access" / "commands" / "diff" / "command.py"
    edit_file(command, "    side.register(sub)\n", "")
    commit_all(code_repo, "an eks-access from before diff-snapshot")
    git(code_repo, "revert", "--no-edit", "HEAD")
    git(code_repo, "reset", "-q", "--soft", "HEAD~1")  # the working tree has it again; HEAD does not
    code, out, err = run_cli(capsys, "--base", "HEAD", "--project-dir", str(code_repo))
    assert (code, out) == (2, "")
    assert err == (
        "error: HEAD: its eks-access code cannot print a diff snapshot (it predates `diff-snapshot`), and each side "
        "must be planned with its own code; compare with a newer base\n"
    )


def test_a_git_base_without_code_while_the_head_has_it_fails_in_one_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    infra = repo / "infra"
    shutil.copytree(REPO / "access", infra / "access", ignore=shutil.ignore_patterns("__pycache__"))
    code, out, err = run_cli(capsys, "--base", "main", "--project-dir", str(infra))
    assert (code, out) == (2, "")
    assert err == (
        "error: --base main: it has no eks-access code (access/) to plan it with, and the base must be planned with "
        "its own code; compare with a base that has it\n"
    )


def test_a_head_snapshot_is_read_as_data(code_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_file(code_repo / "config" / "access.yaml", "      prod: view\n", "      prod: operate\n")
    printed = subprocess.run(
        [sys.executable, "-m", "access", "diff-snapshot", "--project-dir", str(code_repo)],
        cwd=code_repo,
        capture_output=True,
        text=True,
        check=True,
    )
    snapshot_file = tmp_path / "head.json"
    snapshot_file.write_text(printed.stdout)
    args = ["--base", "HEAD", "--project-dir", str(code_repo), "--format", "text"]
    code, planned, _ = run_cli(capsys, *args)
    code_from_file, read, _ = run_cli(capsys, *args, "--head-snapshot", str(snapshot_file))
    assert (code, code_from_file) == (1, 1) and read == planned
    assert "  !! [exec] prod: alice gains create,get pods/exec in projecta-prod" in read
    doc = json.loads(printed.stdout)
    del doc["stacks"]["prod"]["access"]
    snapshot_file.write_text(json.dumps(doc))
    code, out, err = run_cli(capsys, *args, "--head-snapshot", str(snapshot_file))
    assert (code, out) == (2, "")
    assert err == f"error: {snapshot_file}: not an eks-access diff snapshot (stacks.prod has no 'access')\n"
    snapshot_file.write_text(json.dumps({**doc, "eksAccessSnapshot": 9}))
    code, _, err = run_cli(capsys, *args, "--head-snapshot", str(snapshot_file))
    assert (
        err == f"error: {snapshot_file}: not an eks-access diff snapshot (version 9; this eks-access reads version 1)\n"
    )


def test_a_widened_permission_is_a_gain_and_never_a_loss(sample_org: Organisation, tree: ConfigTree) -> None:
    def level_of(verbs: list[str], resources: list[str]) -> Edit:
        def edit(t: ConfigTree) -> None:
            def change(d: dict[str, Any]) -> None:
                rules = [{"api_groups": [""], "resources": resources, "verbs": verbs}]
                d["levels"] = {"reader": {"allow_escalation": True, "rules": rules}}
                d["grants"]["search"]["projectb"]["dev"] = "reader"

            t.edit("access.yaml", change)

        return edit

    def plan(edit: Edit, root: Path) -> Any:
        t = ConfigTree(root)
        edit(t)
        org = t.load()
        return snapshot(plan_environment(org, "dev", MODES["dev"]), org)

    narrow = plan(level_of(["get"], ["pods", "services"]), tree.root / "a")
    for verbs, resources, gained in (
        (["*"], ["pods", "services"], [("pods", "*"), ("services", "*")]),
        (["get"], ["*"], [("*", "get")]),
        (["get", "list"], ["pods", "services"], [("pods", "list"), ("services", "list")]),
    ):
        diff = diff_between("dev", narrow, plan(level_of(verbs, resources), tree.root / "-".join(verbs + resources)))
        assert diff.lost == [], (verbs, resources)
        assert sorted({(p.resource, p.verb) for p in diff.gained}) == gained
        # And the other way round: narrowing loses what the wide grant covered, and gains nothing.
        back = diff_between("dev", plan(level_of(verbs, resources), tree.root / ("b" + "-".join(verbs))), narrow)
        assert back.gained == [] and back.lost
