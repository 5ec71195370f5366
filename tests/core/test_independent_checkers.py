"""Independent checkers, not only our own opinion, on every document every stack would create.

* kubernetes-validate (strict: unknown fields are errors) on every manifest of the plan, on the aws-auth ConfigMap,
  and on the Kubernetes inputs the program actually sends under mocks;
* policyuniverse finds no internet-accessible trust policy;
* parliament reports nothing on the group (identity) policies; it is not run on trust policies, which it misreads
  (it reports every trust policy as MALFORMED because a trust policy has no Resource);
* an RBAC scan: no escalate/bind/impersonate, no nodes/proxy in any Role or ClusterRole we write; secrets read only
  by the deploy level (Helm keeps its releases there); token minting only for a CI deployer's own ServiceAccount
  (resourceNames); the built-in admin/cluster-admin roles only bound for admin levels; no system:* subjects.

Organisations: the sample stacks as their stack files configure them, a "rich" variant of the sample using every
trust and naming option in all three auth modes, and a synthetic organisation from bench/make_org.py.
Each checker is also shown one bad document, so a checker that stopped working would fail here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import kubernetes_validate
import pytest
from parliament import analyze_policy_string
from policyuniverse.policy import Policy

from access.core import awsauth, iam
from access.core.config import load
from access.core.loading import load_stack
from access.core.model import AuthMode, Organisation
from access.core.plan import rbac
from access.core.plan.environment import plan_environment
from access.core.plan.types import EnvironmentPlan
from access.core.quotas import preflight
from access.stack.offline import run_program
from bench.make_org import OrgShape, make_org
from tests.helpers import REPO, ConfigTree

# EKS standard support covers several minor versions: check the oldest we care about and the newest schema known.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
STACKS = ("dev", "staging", "prod")

RICH_SETTINGS = """
naming:
  role: "eks-{project}-{env}-{level}"
  kubernetes_group: "{project}:{env}:{level}"
  username: "{project}:{env}:{level}:{{SessionName}}"
roles:
  path: /eks-access/
  max_session_duration: 7200
  permissions_boundary: arn:aws:iam::111122223333:policy/eks-access-boundary
  mfa: {required: true, max_age_seconds: 3600}
  trusted_principals: [arn:aws:iam::111122223333:role/engineers, arn:aws:iam::444455556666:root]
  external_id: eks-access-federation
  managed_policy_arns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
  tags: {cost-center: platform}
"""
RICH_ACCESS = """
levels:
  debug:
    description: operate plus port-forward
    allow_escalation: true     # port-forward reaches inside pods
    rules:
      - {api_groups: [""], resources: [pods, pods/log], verbs: [get, list]}
      - {api_groups: [""], resources: [pods/portforward], verbs: [create]}
grants:
  payments:
    projecta: {dev: admin, staging: deploy, prod: view}
    projectb: {dev: debug}
  search:
    projectb: {dev: operate, staging: operate, prod: view}
    projecta: {dev: view}
cluster_admins:
  teams: [platform]
  break_glass_role: arn:aws:iam::111122223333:role/break-glass
monitoring:
  trusted_roles: [arn:aws:iam::111122223333:role/prometheus]
  trusted_services: [pods.eks.amazonaws.com]
  extra_rules:
    - {api_groups: [monitoring.coreos.com], resources: [servicemonitors], verbs: [get, list, watch]}
ci:
  jenkins:
    trusted_role: arn:aws:iam::111122223333:role/jenkins
    deploys: {projecta: [dev, staging, prod]}
    service_accounts: true
  actions:
    github: {repository: acme/projectb, environment: production}
    deploys: {projectb: [prod]}
"""
RICH_AUTH_MODES = {"dev": AuthMode.CONFIG_MAP, "staging": AuthMode.API_AND_CONFIG_MAP, "prod": AuthMode.API}


@dataclass(frozen=True)
class Stack:
    label: str
    org: Organisation
    plan: EnvironmentPlan


def _sample_stacks() -> list[Stack]:
    stacks = []
    for stack in STACKS:
        loaded = load_stack(REPO, stack)
        org, plan = loaded.org, loaded.plan
        stacks.append(Stack(f"sample/{stack}", org, plan))
    return stacks


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> list[Stack]:
    rich = ConfigTree(tmp_path_factory.mktemp("rich"))
    rich.write("settings.yaml", RICH_SETTINGS)
    rich.write("access.yaml", RICH_ACCESS)
    rich_org = rich.load()
    preflight(rich_org)
    generated_dir = tmp_path_factory.mktemp("generated")
    make_org(generated_dir, OrgShape(teams=12, users=40, teams_per_user=(1, 3), projects=20, environments=2, seed=5))
    generated = load(generated_dir / "config", label="config")
    preflight(generated)
    out = _sample_stacks()
    out += [
        Stack(f"rich/{env}", rich_org, plan_environment(rich_org, env, mode)) for env, mode in RICH_AUTH_MODES.items()
    ]
    out += [
        Stack(f"generated/{env}", generated, plan_environment(generated, env)) for env in sorted(generated.environments)
    ]
    return out


def test_the_organisations_cover_every_level_and_trust_shape(stacks: list[Stack]) -> None:
    levels = {binding.level for s in stacks for binding in s.plan.bindings}
    assert {"view", "operate", "deploy", "admin", "debug", "cluster-admin", "monitoring"} <= levels
    generated_levels = {b.level for s in stacks if s.label.startswith("generated/") for b in s.plan.bindings}
    assert {"view", "operate", "deploy", "admin"} <= generated_levels
    statements = {st["Sid"] for s in stacks for role in s.plan.roles for st in role.trust_policy["Statement"]}
    assert {"AccountUsersAllowedByGroupPolicy", "ExplicitlyTrustedPrincipals", "GithubActionsOidc"} <= statements
    assert {s.plan.auth_mode for s in stacks} == set(AuthMode)


# -- kubernetes-validate --------------------------------------------------------------------------------------------


def aws_auth_manifest(plan: EnvironmentPlan) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": awsauth.NAME, "namespace": awsauth.NAMESPACE},
        "data": {"mapRoles": awsauth.render(plan.map_roles)},
    }


def manifests(stacks: list[Stack]) -> Iterator[tuple[str, dict[str, Any]]]:
    for s in stacks:
        for manifest in s.plan.manifests:
            yield f"{s.label}: {rbac.manifest_id(manifest)}", manifest
        if s.plan.map_roles:
            yield f"{s.label}: aws-auth", aws_auth_manifest(s.plan)


def strict_problems(documents: Iterator[tuple[str, dict[str, Any]]]) -> list[str]:
    problems = []
    for label, manifest in documents:
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.ValidationError as invalid:
                problems.append(f"{label} (Kubernetes {version}): {invalid.message}")
    return problems


def test_every_manifest_is_valid_kubernetes_strictly(stacks: list[Stack]) -> None:
    documents = list(manifests(stacks))
    assert len(documents) > 150
    assert {m["kind"] for _, m in documents} == {
        "Namespace",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "ServiceAccount",
        "ConfigMap",
    }
    assert strict_problems(iter(documents)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_what_the_program_sends_to_kubernetes_is_valid_strictly(stack: str) -> None:
    run = run_program(REPO, stack)
    sent = [(f"{stack}: {r.type} {r.name}", r.inputs) for r in run.created() if r.type.startswith("kubernetes:")]
    assert len(sent) > 10
    assert strict_problems(iter(sent)) == []


def test_kubernetes_validate_catches_an_unknown_field() -> None:
    bad = {"apiVersion": rbac.RBAC_API, "kind": "Role", "metadata": {"name": "x", "namespace": "y"}, "rule": []}
    assert strict_problems(iter([("typo", bad)])) != []


# -- policyuniverse -------------------------------------------------------------------------------------------------


def test_no_trust_policy_is_internet_accessible(stacks: list[Stack]) -> None:
    trust = [(f"{s.label}: {r.name}", r.trust_policy) for s in stacks for r in s.plan.roles]
    assert len(trust) > 40
    assert [label for label, document in trust if Policy(document).is_internet_accessible()] == []


def test_policyuniverse_flags_a_wildcard_principal() -> None:
    open_trust = {
        "Version": iam.VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    assert Policy(open_trust).is_internet_accessible()


# -- parliament -----------------------------------------------------------------------------------------------------


def parliament_findings(document: dict[str, Any]) -> list[str]:
    return [f"{f.issue}: {f.detail}" for f in analyze_policy_string(iam.policy_json(document)).findings]


def test_parliament_reports_nothing_on_the_group_policies(stacks: list[Stack]) -> None:
    groups = [(f"{s.label}: {p.group_name}/{p.policy_name}", p.document) for s in stacks for p in s.plan.group_policies]
    assert len(groups) > 20
    assert {label: parliament_findings(doc) for label, doc in groups if parliament_findings(doc)} == {}


def test_parliament_flags_a_bad_identity_policy() -> None:
    misspelt = {"Version": iam.VERSION, "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRol", "Resource": "*"}]}
    assert [finding.split(":")[0] for finding in parliament_findings(misspelt)] == ["UNKNOWN_ACTION"]


# -- RBAC scan ------------------------------------------------------------------------------------------------------

ESCALATING_VERBS = {"escalate", "bind", "impersonate", "*"}
ESCALATING_RESOURCES = {"nodes/proxy", "serviceaccounts/token", "*"}
SECRET_READS = {"get", "list", "watch", "*"}
BUILT_IN_ADMIN_ROLES = {"admin", "cluster-admin"}


def _own_token(manifest: dict[str, Any], rule: dict[str, Any]) -> bool:
    """The one token rule allowed: create on serviceaccounts/token of the CI deployer's own ServiceAccount only."""
    ci = manifest["metadata"].get("labels", {}).get(f"{rbac.PREFIX}/ci")
    return bool(ci) and rule == {
        "apiGroups": [""],
        "resources": ["serviceaccounts/token"],
        "verbs": ["create"],
        "resourceNames": [f"{ci}-deployer"],
    }


def rbac_problems(documents: Sequence[dict[str, Any]], admin_group: str) -> list[str]:
    problems = []
    for manifest in documents:
        name = rbac.manifest_id(manifest)
        level = manifest["metadata"].get("labels", {}).get(f"{rbac.PREFIX}/level")
        for rule in manifest.get("rules", []):
            verbs, resources = set(rule["verbs"]), set(rule["resources"])
            if verbs & ESCALATING_VERBS:
                problems.append(f"{name}: verbs {sorted(verbs & ESCALATING_VERBS)}")
            if resources & ESCALATING_RESOURCES and not _own_token(manifest, rule):
                problems.append(f"{name}: resources {sorted(resources & ESCALATING_RESOURCES)}")
            # deploy reads secrets on purpose (Helm's release storage; docs/levels.md): nothing else may
            if "secrets" in resources and verbs & SECRET_READS and level != "deploy":
                problems.append(f"{name}: reads secrets ({sorted(verbs & SECRET_READS)})")
            if "*" in rule["apiGroups"]:
                problems.append(f"{name}: every API group")
        if "roleRef" not in manifest:
            continue
        for subject in manifest["subjects"]:
            if subject["name"].startswith("system:"):
                problems.append(f"{name}: subject {subject['name']}")
        ref = manifest["roleRef"]
        if ref["kind"] == "ClusterRole" and ref["name"] in BUILT_IN_ADMIN_ROLES:
            level = manifest["metadata"]["labels"].get(f"{rbac.PREFIX}/level")
            admins_binding = manifest["kind"] == "ClusterRoleBinding" and [s["name"] for s in manifest["subjects"]] == [
                admin_group
            ]
            if not (level == "admin" and manifest["kind"] == "RoleBinding") and not admins_binding:
                problems.append(f"{name}: binds {ref['name']} outside an admin level")
    return problems


def test_no_escalation_outside_admin_levels(stacks: list[Stack]) -> None:
    for s in stacks:
        assert rbac_problems(s.plan.manifests, s.org.naming.admin_group) == [], s.label
    admin_bindings = [
        m
        for s in stacks
        for m in s.plan.manifests
        if m.get("roleRef", {}).get("name") in BUILT_IN_ADMIN_ROLES and m["kind"] == "RoleBinding"
    ]
    assert admin_bindings, "the organisations should include admin-level grants for this scan to mean something"


def test_ci_is_never_bound_cluster_wide(stacks: list[Stack]) -> None:
    for s in stacks:
        cluster_subjects = {
            subject["name"] for m in s.plan.manifests if m["kind"] == "ClusterRoleBinding" for subject in m["subjects"]
        }
        assert cluster_subjects <= {s.org.naming.admin_group, s.org.naming.monitoring_group}, s.label


def test_the_rbac_scan_flags_what_it_should() -> None:
    role = {
        "apiVersion": rbac.RBAC_API,
        "kind": "Role",
        "metadata": {"name": "bad", "namespace": "ns"},
        "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["bind", "escalate"]},
            {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
        ],
    }
    token = {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}
    ci_role = rbac.cluster_role_manifest(
        "eks-access:dev:ci:jenkins",
        (),
        ci="jenkins",
        level="deploy",
    )
    ci_role["rules"] = [
        {**token, "resourceNames": ["jenkins-deployer"]},  # its own: allowed
        {**token, "resourceNames": ["default"]},  # another ServiceAccount's
        token,  # every ServiceAccount's
    ]
    binding = rbac.role_binding("ns", "sneaky", "view", "cluster-admin", [rbac.group_subject("system:masters")])
    assert rbac_problems([role, ci_role, binding], "eks-access:cluster-admins") == [
        "Role/ns/bad: reads secrets (['list'])",
        "Role/ns/bad: verbs ['bind', 'escalate']",
        "Role/ns/bad: resources ['nodes/proxy']",
        "ClusterRole/eks-access:dev:ci:jenkins: resources ['serviceaccounts/token']",
        "ClusterRole/eks-access:dev:ci:jenkins: resources ['serviceaccounts/token']",
        "RoleBinding/ns/sneaky: subject system:masters",
        "RoleBinding/ns/sneaky: binds cluster-admin outside an admin level",
    ]


def test_only_nodes_and_the_break_glass_role_are_mapped_to_system_groups(stacks: list[Stack]) -> None:
    for s in stacks:
        system = {(e.source, g) for e in s.plan.map_roles for g in e.groups if g.startswith("system:")}
        assert {source for source, _ in system} <= {"node", "break-glass"}, s.label
        assert {g for source, g in system if source == "break-glass"} <= {"system:masters"}, s.label
