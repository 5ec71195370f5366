"""Bad configs against the CLI: each is refused with one line naming file and key, exit code 2, nothing rendered.

The plan command is what people run before ``pulumi up``; whichever layer refuses a config (the loader, the
quotas preflight or the planner), the refusal must look the same. Most cases call ``access.commands.cli.main``
in-process; a handful run ``python -m access`` as a real subprocess to prove the exit code and that no traceback
escapes.
"""

from __future__ import annotations

import subprocess
import sys
from typing import NamedTuple

import pytest

from access.commands.cli import main
from tests.helpers import REPO, A, ConfigTree, Edit, add_node_role, change, put, rule, text


class Bad(NamedTuple):
    id: str
    edits: list[Edit]
    where: str  # "<file>: <key path>" the error line must start with (after "error: ")
    says: str  # a fragment of the message that identifies the check
    stack: str = "dev"  # prod uses EKS access entries (auth mode api)


def eleven_teams_with_one_user(tree: ConfigTree) -> None:
    """zed joins 11 teams that each have a grant, so 11 IAM groups in one account (IAM allows 10)."""
    teams = [f"team{i:02d}" for i in range(11)]
    tree.edit("teams.yaml", lambda d: d["teams"].update({t: {"members": ["zed"]} for t in teams}))
    tree.edit("access.yaml", lambda d: d["grants"].update({t: {"projecta": {"dev": "operate"}} for t in teams}))


def forty_projects_for_one_team(tree: ConfigTree) -> None:
    """120 role ARNs in one group's inline policies: over IAM's 5,120 characters per group."""
    projects = [f"project{i:02d}" for i in range(40)]
    envs = ["dev", "staging", "prod"]
    tree.edit(
        "projects.yaml",
        lambda d: d["projects"].update({p: {"owner": "payments", "environments": envs} for p in projects}),
    )
    tree.edit(
        "access.yaml", lambda d: d["grants"]["payments"].update({p: dict.fromkeys(envs, "view") for p in projects})
    )


def node_roles(count: int) -> Edit:
    arns = [{"arn": f"{A}:role/nodes-{i:04d}"} for i in range(count)]
    return change("environments.yaml", lambda d: d["clusters"]["dev"].update(node_roles=arns))


def trusted_principals(count: int) -> Edit:
    return put("settings.yaml", ["roles", "trusted_principals"], [f"{A}:role/sso-reader-{i:03d}" for i in range(count)])


def grant_project(project: str, env: str = "dev") -> list[Edit]:
    return [
        put("projects.yaml", ["projects", project], {"owner": "payments", "environments": [env]}),
        put("access.yaml", ["grants", "payments", project], {env: "view"}),
    ]


CASES = [
    # Kubernetes namespaces
    Bad(
        "namespace-uppercase",
        [put("settings.yaml", ["naming", "namespace"], "Apps-{project}-{env}")],
        "config/projects.yaml: projects.projecta.environments",
        "namespace 'Apps-projecta-dev' is not a lowercase RFC 1123 label",
    ),
    Bad(
        "namespace-overlong",
        grant_project("p" * 60),
        f"config/projects.yaml: projects.{'p' * 60}.environments",
        "is 64 characters; Kubernetes allows at most 63",
    ),
    Bad(
        "namespace-kube-prefix",
        grant_project("kube"),
        "config/projects.yaml: projects.kube.environments",
        "namespace 'kube-dev' is reserved by Kubernetes",
    ),
    Bad(
        "namespace-default",
        [put("settings.yaml", ["naming", "namespace"], "default")],
        "config/projects.yaml: projects.projecta.environments",
        "namespace 'default' is reserved by Kubernetes",
    ),
    # IAM names
    Bad(
        "role-name-over-64",
        grant_project("p" * 50, "staging"),
        f"config/access.yaml: grants.payments.{'p' * 50}.staging",
        "is 65 characters; IAM allows at most 64",
    ),
    Bad(
        "id-with-space",
        [put("teams.yaml", ["teams", "pay ments"], {"members": ["zed"]})],
        "config/teams.yaml: teams.pay ments",
        "team id 'pay ments' may contain only letters, digits and '-'",
    ),
    Bad(
        "user-with-slash",
        [put("teams.yaml", ["teams", "payments", "members"], ["alice", "ops/bob"])],
        "config/teams.yaml: teams.payments.members[1]",
        "IAM user name 'ops/bob' may contain only",
    ),
    Bad(
        "user-with-colon",
        [put("teams.yaml", ["teams", "payments", "members"], ["corp:alice"])],
        "config/teams.yaml: teams.payments.members[0]",
        "IAM user name 'corp:alice' may contain only",
    ),
    Bad(
        "user-non-ascii",
        [put("teams.yaml", ["teams", "search", "members"], ["carol", "zoë"])],
        "config/teams.yaml: teams.search.members[1]",
        "IAM user name 'zoë' may contain only",
    ),
    Bad(
        "ids-equal-ignoring-case",
        [put("projects.yaml", ["projects", "ProjectA"], {"owner": "payments", "environments": ["dev"]})],
        "config/projects.yaml: projects.ProjectA",
        "project id 'ProjectA' collides with 'projecta'",
    ),
    Bad(
        "ids-equal-after-normalisation",
        [
            put("environments.yaml", ["environments", "b-dev"], {"account": "main", "cluster": "dev"}),
            put("environments.yaml", ["clusters", "dev", "home_environment"], "dev"),
            put("projects.yaml", ["projects", "a-b"], {"owner": "payments", "environments": ["dev"]}),
            put("projects.yaml", ["projects", "a"], {"owner": "payments", "environments": ["b-dev"]}),
        ],
        "config/projects.yaml: projects.a.environments",
        "namespace 'a-b-dev' of a/b-dev collides with a-b/dev",
    ),
    Bad(
        "one-character-user-under-session-name-condition",
        [put("teams.yaml", ["teams", "platform", "members"], ["e"])],
        "config/teams.yaml: teams.platform.members[0]",
        "IAM user name 'e' is shorter than 2 characters",
    ),
    # IAM quotas and limits (quotas preflight)
    Bad(
        "user-in-11-groups",
        [eleven_teams_with_one_user],
        "config/teams.yaml: teams.team10.members[0]",
        "user 'zed' would be in 11 IAM groups in account main",
    ),
    Bad(
        "trust-policy-over-limit",
        [trusted_principals(50)],
        "config/settings.yaml: roles.trusted_principals",
        "trust policy of role 'dev-cluster-admins' is 2782 characters; the account main quota is 2048",
    ),
    Bad(
        "group-policy-over-5120",
        [forty_projects_for_one_team],
        "config/access.yaml: grants.payments",
        "IAM group 'eks-access-payments' would carry 7219 characters of inline policy",
    ),
    Bad(
        "more-principals-than-3000-access-entries",
        [node_roles(2996)],
        "config/environments.yaml: clusters.dev",
        "cluster 'eks-dev' would need 3001 principals; EKS allows 3000 access entries per cluster",
    ),
    # principals
    Bad(
        "wildcard-principal",
        [put("settings.yaml", ["roles", "trusted_principals"], ["*"])],
        "config/settings.yaml: roles.trusted_principals[0]",
        "wildcard principal '*' is not allowed",
    ),
    Bad(
        "wildcard-in-role-arn",
        [put("access.yaml", ["monitoring", "trusted_roles"], [f"{A}:role/prometheus-*"])],
        "config/access.yaml: monitoring.trusted_roles[0]",
        "wildcard principal 'arn:aws:iam::111122223333:role/prometheus-*' is not allowed",
    ),
    Bad(
        "group-arn-as-principal",
        [put("access.yaml", ["ci", "jenkins", "trusted_role"], f"{A}:group/build-agents")],
        "config/access.yaml: ci.jenkins.trusted_role",
        "is an IAM group; a group can never be a principal",
    ),
    # Kubernetes groups and usernames
    Bad(
        "system-masters-for-a-team",
        [put("settings.yaml", ["naming", "kubernetes_group"], "system:masters")],
        "config/settings.yaml: naming.kubernetes_group",
        "Kubernetes group 'system:masters' is a system group",
    ),
    Bad(
        "system-group-from-a-project-id",
        grant_project("system"),
        "config/access.yaml: grants.payments.system.dev",
        "Kubernetes group 'system:dev' is a system group",
    ),
    Bad(
        "system-masters-for-admins",
        [put("settings.yaml", ["naming", "admin_group"], "system:masters")],
        "config/settings.yaml: naming.admin_group",
        "Kubernetes group 'system:masters' is a system group",
    ),
    Bad(
        "reserved-access-entry-username",
        [put("settings.yaml", ["naming", "username"], "eks:{project}:{env}:{{SessionName}}")],
        "config/settings.yaml: naming.username",
        "starts with 'eks:', which EKS reserves for itself",
    ),
    Bad(
        "session-name-without-colon-in-access-entries",
        [put("settings.yaml", ["naming", "admin_username"], "john{{SessionName}}")],
        "config/settings.yaml: naming.admin_username",
        "Kubernetes username 'john{{SessionName}}' needs a ':' right before {{SessionName}}",
        stack="prod",
    ),
    # paths: aws-auth compares role ARNs without their path
    Bad(
        "pathed-role-named-like-a-created-role",
        [put("environments.yaml", ["clusters", "dev", "break_glass_role"], f"{A}:role/ops/dev-cluster-admins")],
        "config/environments.yaml: clusters.dev.break_glass_role",
        "has the name of the role eks-access creates for dev cluster admins",
    ),
    Bad(
        "pathed-node-role-listed-twice",
        [add_node_role(f"{A}:role/nodes/eks-dev-nodes")],
        "config/environments.yaml: clusters.dev.node_roles[2].arn",
        "is listed twice (also 'arn:aws:iam::111122223333:role/eks-dev-nodes')",
    ),
    Bad(
        "pathed-break-glass-equal-to-a-node-role-without-path",
        [
            add_node_role(f"{A}:role/a/emergency"),
            put("environments.yaml", ["clusters", "dev", "break_glass_role"], f"{A}:role/b/emergency"),
        ],
        "config/environments.yaml: clusters.dev",
        "aws-auth would map 'arn:aws:iam::111122223333:role/emergency' twice (node and break-glass)",
    ),
    # RBAC the config asks for
    Bad(
        "monitoring-reads-secrets",
        [put("access.yaml", ["monitoring", "extra_rules"], [rule([""], ["secrets"], ["get", "list"])])],
        "config/access.yaml: monitoring.extra_rules[0].resources[0]",
        "monitoring may not have 'secrets'",
    ),
    Bad(
        "monitoring-nodes-proxy",
        [put("access.yaml", ["monitoring", "extra_rules"], [rule([""], ["nodes", "nodes/proxy"], ["get"])])],
        "config/access.yaml: monitoring.extra_rules[0].resources[1]",
        "monitoring may not have 'nodes/proxy'",
    ),
    Bad(
        "ci-cluster-role-binding",
        [put("access.yaml", ["ci", "jenkins", "cluster_role_binding"], True)],
        "config/access.yaml: ci.jenkins.cluster_role_binding",
        "a ClusterRoleBinding would reach every namespace",
    ),
    Bad(
        "custom-level-escalate",
        [
            put(
                "access.yaml",
                ["levels"],
                {"x": {"rules": [rule(["rbac.authorization.k8s.io"], ["roles"], ["escalate"])]}},
            )
        ],
        "config/access.yaml: levels.x.rules[0]",
        "grants verb 'escalate', an escalation path",
    ),
    # session durations
    Bad(
        "session-duration-below-3600",
        [put("settings.yaml", ["roles", "max_session_duration"], 3599)],
        "config/settings.yaml: roles.max_session_duration",
        "3599 is outside 3600..43200 seconds",
    ),
    Bad(
        "session-duration-above-43200",
        [put("settings.yaml", ["roles", "max_session_duration"], 43201)],
        "config/settings.yaml: roles.max_session_duration",
        "43201 is outside 3600..43200 seconds",
    ),
    # references and YAML
    Bad(
        "unknown-team-reference",
        [put("projects.yaml", ["projects", "projecta", "owner"], "billing")],
        "config/projects.yaml: projects.projecta.owner",
        "unknown team 'billing'; declare it in teams.yaml",
    ),
    Bad(
        "unknown-environment-reference",
        [put("access.yaml", ["ci", "jenkins", "deploys", "projectb"], ["dev", "qa"])],
        "config/access.yaml: ci.jenkins.deploys.projectb[1]",
        "project 'projectb' does not run in environment 'qa'",
    ),
    Bad(
        "yaml-not-a-mapping",
        [text("projects.yaml", "- projecta\n- projectb\n")],
        "config/projects.yaml",
        "top level must be a mapping, found a list",
    ),
    Bad(
        "empty-file",
        [text("environments.yaml", "")],
        "config/environments.yaml",
        "file is empty",
    ),
    Bad(
        "duplicate-key",
        [text("access.yaml", "grants:\n  payments: {projecta: {dev: view}}\n  payments: {projecta: {dev: admin}}\n")],
        "config/access.yaml: grants.payments",
        "key 'payments' appears twice (lines 2 and 3)",
    ),
    Bad(
        "account-id-as-number",
        [put("environments.yaml", ["accounts", "main", "id"], 111122223333)],
        "config/environments.yaml: accounts.main.id",
        "write the account id as a quoted string",
    ),
]

# Run as real processes: one per layer that refuses (YAML reader, loader, quotas preflight, planner).
SUBPROCESS_CASES = {
    "empty-file",
    "wildcard-principal",
    "user-in-11-groups",
    "pathed-break-glass-equal-to-a-node-role-without-path",
}


def plan_args(tree: ConfigTree, stack: str = "dev") -> list[str]:
    return ["plan", "--stack", stack, "--project-dir", str(tree.project())]


def apply(tree: ConfigTree, bad: Bad) -> None:
    for edit in bad.edits:
        edit(tree)


def assert_refused(bad: Bad, code: int, stdout: str, stderr: str) -> None:
    assert code == 2, stderr
    assert stdout == ""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    prefix = f"error: {bad.where}: "
    assert line.startswith(prefix), line
    assert bad.says in line[len(prefix) :], line


def test_at_least_thirty_distinct_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.id for c in CASES} >= SUBPROCESS_CASES


def test_sample_config_is_accepted(tree: ConfigTree) -> None:
    """The cases differ from an accepted config only by their edits."""
    from access.core.loading import load_stack

    loaded = load_stack(tree.project(), "dev")
    assert (loaded.settings.environment, loaded.plan.cluster_name) == ("dev", "eks-dev")


@pytest.mark.parametrize("bad", [pytest.param(c, id=c.id) for c in CASES])
def test_refused_in_process(tree: ConfigTree, bad: Bad, capsys: pytest.CaptureFixture[str]) -> None:
    apply(tree, bad)
    code = main(plan_args(tree, bad.stack))
    captured = capsys.readouterr()
    assert_refused(bad, code, captured.out, captured.err)


@pytest.mark.parametrize("bad", [pytest.param(c, id=c.id) for c in CASES if c.id in SUBPROCESS_CASES])
def test_refused_by_the_real_command(tree: ConfigTree, bad: Bad) -> None:
    apply(tree, bad)
    result = subprocess.run(
        [sys.executable, "-m", "access", *plan_args(tree, bad.stack)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert_refused(bad, result.returncode, result.stdout, result.stderr)
