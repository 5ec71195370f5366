"""Declared access is effective access (issue 11).

Three kinds of test:
- the evaluator on hand-written documents that over- or under-grant, so it cannot pass vacuously;
- a table of configs an attacker would try, each refused with its exact line before anything is declared;
- a property over generated organisations and naming templates: every stack's effective access equals what
  config grants, or the config is refused with one line.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.core.config import load
from access.core.evaluate import check_stack, effective_access, evaluate, evaluate_stack, intent, verify
from access.core.evaluate.documents import ClusterDocuments, GroupPolicyDocument
from access.core.evaluate.types import PrincipalKind, user
from access.core.loading import load_stack
from access.core.model import AuthMode, Organisation
from access.core.plan.environment import plan_environment
from access.errors import ConfigError
from tests.helpers import ConfigTree, Edit, change, put
from tests.org_strategies import Config, config_dir, organisations

A = "arn:aws:iam::111122223333"


def documents(org: Organisation, env: str = "dev", mode: AuthMode = AuthMode.CONFIG_MAP) -> ClusterDocuments:
    return evaluate_stack(org, plan_environment(org, env, mode)).documents


def refusal(org: Organisation, docs: ClusterDocuments) -> str:
    with pytest.raises(ConfigError) as error:
        verify(org, evaluate(docs), intent(org, docs.cluster))
    return str(error.value)


def with_manifest(docs: ClusterDocuments, name: str, edit: Callable[[dict[str, Any]], None]) -> ClusterDocuments:
    manifests = [copy.deepcopy(m) for m in docs.manifests]
    for manifest in manifests:
        if manifest["metadata"]["name"] == name and manifest["metadata"].get("namespace") == "projecta-dev":
            edit(manifest)
    return dataclasses.replace(docs, manifests=tuple(manifests))


# --- the evaluator on hand-written documents ------------------------------------------------------------------


def test_the_sample_stacks_are_exact(sample_org: Organisation) -> None:
    for env, mode in (("dev", AuthMode.CONFIG_MAP), ("staging", AuthMode.API_AND_CONFIG_MAP), ("prod", AuthMode.API)):
        check_stack(sample_org, plan_environment(sample_org, env, mode))


def test_an_extra_binding_subject_is_an_over_grant(sample_org: Organisation) -> None:
    docs = with_manifest(
        documents(sample_org),
        "eks-access:humans:operate",
        lambda m: m["subjects"].append(
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "projectb:dev"}
        ),
    )
    assert refusal(sample_org, docs).startswith(
        "config/access.yaml: grants.search.projectb.dev: carol would get get endpoints in projecta-dev, list "
        "endpoints in projecta-dev, watch endpoints in projecta-dev and 36 more through role "
        "projectb-dev-humans, Kubernetes group projectb:dev, RoleBinding/projecta-dev/eks-access:humans:operate; "
        "config grants operate in projectb-dev."
    )


def test_a_binding_to_system_authenticated_reaches_everyone(sample_org: Organisation) -> None:
    docs = with_manifest(
        documents(sample_org),
        "eks-access:humans:operate",
        lambda m: m["subjects"].append(
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:authenticated"}
        ),
    )
    assert "carol would get get endpoints in projecta-dev, list endpoints in projecta-dev, watch endpoints" in refusal(
        sample_org, docs
    )


def test_the_last_duplicate_in_map_roles_wins(sample_org: Organisation) -> None:
    docs = documents(sample_org)
    # A second entry for the same role (another case, so the key compares equal) mapping it to the admin group.
    duplicate = (
        f"- rolearn: {A}:role/PROJECTA-dev-humans\n  username: x:{{{{SessionName}}}}\n"
        "  groups:\n    - eks-access:cluster-admins\n"
    )
    docs = dataclasses.replace(docs, map_roles=docs.map_roles + duplicate)
    assert refusal(sample_org, docs).startswith(
        "config/access.yaml: grants.payments.projecta.dev: alice would get everything cluster-wide (cluster-admin) "
        "through role projecta-dev-humans, Kubernetes group eks-access:cluster-admins, "
        "ClusterRoleBinding/eks-access:cluster-admins; config grants operate in projecta-dev."
    )


def test_a_wildcard_group_policy_resource_lets_a_team_assume_every_role(sample_org: Organisation) -> None:
    docs = documents(sample_org)
    policies = [
        dataclasses.replace(
            p, document={**p.document, "Statement": [{**p.document["Statement"][0], "Resource": f"{A}:role/*"}]}
        )
        if p.group == "eks-access-search" and p.name == "eks-access-dev"
        else p
        for p in docs.group_policies
    ]
    message = refusal(sample_org, dataclasses.replace(docs, group_policies=tuple(policies)))
    assert message.startswith("config/access.yaml: grants.payments.projecta.dev: carol would get ")
    assert "through role projecta-dev-humans" in message


def test_a_deny_in_a_group_policy_is_an_under_grant(sample_org: Organisation) -> None:
    docs = documents(sample_org)
    deny = GroupPolicyDocument(
        "111122223333",
        "eks-access-payments",
        "deny",
        {"Statement": [{"Effect": "Deny", "Action": "sts:*", "Resource": "*"}]},
    )
    message = refusal(sample_org, dataclasses.replace(docs, group_policies=(*docs.group_policies, deny)))
    assert message.startswith("config/access.yaml: grants.payments.projecta.dev: alice would not get ")
    assert message.endswith(
        "nothing maps it into the cluster (a binding no principal of it reaches, or a mapping that does not match)"
    )


def test_a_pathed_rolearn_matches_nothing(sample_org: Organisation) -> None:
    docs = documents(sample_org)
    pathed = docs.map_roles.replace(f"{A}:role/projecta-dev-humans", f"{A}:role/teams/projecta-dev-humans")
    message = refusal(sample_org, dataclasses.replace(docs, map_roles=pathed))
    assert message == (
        "config/access.yaml: grants.payments.projecta.dev: alice would not get get endpoints in projecta-dev, list "
        "endpoints in projecta-dev, watch endpoints in projecta-dev and 36 more that config grants: nothing maps it "
        "into the cluster (a binding no principal of it reaches, or a mapping that does not match)"
    )


def test_an_access_entry_wins_over_aws_auth(sample_org: Organisation) -> None:
    """In API_AND_CONFIG_MAP the access entry of a principal decides, whatever aws-auth says."""
    docs = documents(sample_org, "staging", AuthMode.API_AND_CONFIG_MAP)
    entries = tuple(
        dataclasses.replace(e, groups=("eks-access:cluster-admins",))
        if e.principal_arn.endswith("/projecta-staging-humans")
        else e
        for e in docs.access_entries
    )
    message = refusal(sample_org, dataclasses.replace(docs, access_entries=entries))
    assert message.startswith(
        "config/access.yaml: grants.payments.projecta.staging: alice would get everything cluster-wide (cluster-admin)"
    )


def test_a_person_in_system_masters_is_refused(sample_org: Organisation) -> None:
    docs = documents(sample_org)
    masters = docs.map_roles.replace("    - 'projecta:dev'\n", "    - 'system:masters'\n")
    assert refusal(sample_org, dataclasses.replace(docs, map_roles=masters)) == (
        "config/environments.yaml: clusters.dev: account 111122223333 (any IAM user its own policies allow) would "
        "be mapped into system:masters through mapRoles (arn:aws:iam::111122223333:role/projecta-dev-humans): only "
        "node roles and the break-glass role belong in system: groups"
    )


def test_an_unmapped_node_role_is_a_lockout(sample_org: Organisation) -> None:
    docs = documents(sample_org)
    cut = docs.map_roles.split("- rolearn: 'arn:aws:iam::111122223333:role/eks-dev-fargate-pods'")[0]
    rest = docs.map_roles.split("- rolearn: 'arn:aws:iam::111122223333:role/projecta-dev-humans'")[1]
    docs = dataclasses.replace(
        docs, map_roles=cut + "- rolearn: 'arn:aws:iam::111122223333:role/projecta-dev-humans'" + rest
    )
    assert refusal(sample_org, docs) == (
        "config/environments.yaml: clusters.dev.node_roles[1]: node role arn:aws:iam::111122223333:role/"
        "eks-dev-fargate-pods would not be mapped as a node (system:nodes) in cluster eks-dev: its nodes could not "
        "join or would leave the cluster"
    )


def test_open_trust_is_declared_and_closed_trust_names_exactly_the_members(tree: ConfigTree) -> None:
    org = tree.load()
    evaluation = check_stack(org, plan_environment(org, "dev"))
    admins = evaluation.assumers[f"{A}:role/dev-cluster-admins"]
    assert set(admins) == {user("111122223333", "erin")}  # closed by default: only the admin team's member
    humans = evaluation.assumers[f"{A}:role/projecta-dev-humans"]
    assert {p.kind for p in humans} == {PrincipalKind.USER, PrincipalKind.ACCOUNT}  # open: the account too
    tree.edit("settings.yaml", lambda d: d["roles"].update(trust="members"))
    org = tree.load()
    evaluation = check_stack(org, plan_environment(org, "dev"))
    assert set(evaluation.assumers[f"{A}:role/projecta-dev-humans"]) == {
        user("111122223333", "alice"),
        user("111122223333", "bob"),
    }


def test_a_foreign_account_root_needs_an_external_id_or_an_acknowledgement(tree: ConfigTree) -> None:
    partner = "arn:aws:iam::999988887777:root"
    put("settings.yaml", ["roles", "trusted_principals"], [partner])(tree)
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        "config/settings.yaml: roles.trusted_principals[0]: arn:aws:iam::999988887777:root trusts every principal of "
        "account 999988887777, which config does not own: set roles.external_id (the confused-deputy guard that "
        "party gives you), or write {arn: ..., without_external_id: <why it is safe>} to acknowledge it"
    )
    put("settings.yaml", ["roles", "trusted_principals"], [{"arn": partner, "without_external_id": "our own org"}])(
        tree
    )
    assert tree.load().roles.trusted_without_external_id == (partner,)
    put("settings.yaml", ["roles", "trusted_principals"], [partner])(tree)
    put("settings.yaml", ["roles", "external_id"], "from-the-partner")(tree)
    assert tree.load().roles.trusted_principals == (partner,)


def test_cross_account_machines_are_marked_and_services_are_pinned_to_the_account(tree: ConfigTree) -> None:
    grafana = "arn:aws:iam::999988887777:role/grafana"
    change(
        "access.yaml",
        lambda d: d["monitoring"].update(trusted_roles=[grafana], trusted_services=["pods.eks.amazonaws.com"]),
    )(tree)
    org = tree.load()
    plan = plan_environment(org, "dev")
    rows = {r.principal: r for r in effective_access(plan, org, check_stack(org, plan))}
    assert rows[f"{grafana} (cross-account)"].cross_account
    assert not rows["pods.eks.amazonaws.com"].cross_account
    services = plan.role("monitoring").trust_policy["Statement"][1]
    assert services["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}


# --- configs an attacker would try ------------------------------------------------------------------------------


def _new_environment(env: str, project: str, team: str = "search", level: str = "view") -> Edit:
    """An environment on a cluster of its own, with one project granted to ``team``."""

    def edit(tree: ConfigTree) -> None:
        def environments(d: dict[str, Any]) -> None:
            d["clusters"][env] = {"name": f"eks-{env}", "account": "main", "node_roles": [{"arn": f"{A}:role/{env}-n"}]}
            d["environments"][env] = {"account": "main", "cluster": env}

        tree.edit("environments.yaml", environments)
        tree.edit("projects.yaml", lambda d: d["projects"].update({project: {"owner": team, "environments": [env]}}))
        tree.edit("access.yaml", lambda d: d["grants"][team].update({project: {env: level}}))

    return edit


def naming(**templates: str) -> Edit:
    return change("settings.yaml", lambda d: d["naming"].update(templates))


CASES = [
    (
        "project-env-spells-the-admin-group",
        [_new_environment("cluster-admins", "eks-access")],
        "config/access.yaml: grants.search.eks-access.cluster-admins: project 'eks-access' in environment "
        "'cluster-admins' would be the Kubernetes group 'eks-access:cluster-admins', which is already the cluster "
        "admins' group (naming.admin_group): a group is access, so the two would share it; rename the id or change "
        "the naming template",
    ),
    (
        "project-env-spells-the-monitoring-group",
        [_new_environment("monitoring", "eks-access")],
        "config/access.yaml: grants.search.eks-access.monitoring: project 'eks-access' in environment 'monitoring' "
        "would be the Kubernetes group 'eks-access:monitoring', which is already monitoring's group "
        "(naming.monitoring_group): a group is access, so the two would share it; rename the id or change the "
        "naming template",
    ),
    (
        "project-ci-env-jenkins-spells-the-ci-group",
        [_new_environment("jenkins", "ci")],
        "config/access.yaml: grants.search.ci.jenkins: project 'ci' in environment 'jenkins' would be the Kubernetes "
        "group 'ci:jenkins', which is already CI deployer 'jenkins''s group: a group is access, so the two would "
        "share it; rename the id or change the naming template",
    ),
    (
        "admin-group-is-a-human-group",
        [naming(admin_group="projecta:dev")],
        "config/access.yaml: grants.payments.projecta.dev: project 'projecta' in environment 'dev' would be the "
        "Kubernetes group 'projecta:dev', which is already the cluster admins' group (naming.admin_group): a group "
        "is access, so the two would share it; rename the id or change the naming template",
    ),
    (
        "ci-group-is-a-human-group",
        [naming(ci_group="{ci}:qa"), _new_environment("qa", "jenkins")],
        "config/access.yaml: grants.search.jenkins.qa: project 'jenkins' in environment 'qa' would be the "
        "Kubernetes group 'jenkins:qa', which is already CI deployer 'jenkins''s group: a group is access, so the "
        "two would share it; rename the id or change the naming template",
    ),
    (
        "group-without-project",
        [naming(kubernetes_group="{env}")],
        "config/settings.yaml: naming.kubernetes_group: '{env}' has no {project}: every project's people in an "
        "environment would share one group (a group is access)",
    ),
    (
        "constant-group",
        [naming(kubernetes_group="developers")],
        "config/settings.yaml: naming.kubernetes_group: 'developers' has no {project}, {env}: every project's people "
        "in an environment would share one group (a group is access)",
    ),
    (
        "ci-group-without-ci",
        [naming(ci_group="deployers")],
        "config/settings.yaml: naming.ci_group: 'deployers' has no {ci}: every CI deployer would share one group and "
        "reach the others' namespaces (a group is access)",
    ),
    (
        "dashes-make-two-projects-one-group",
        [
            naming(kubernetes_group="{project}-{env}", namespace="{env}--{project}", role="{project}.{env}-humans"),
            _new_environment("q-r", "p"),
            _new_environment("r", "p-q"),
        ],
        "config/access.yaml: grants.search.p-q.r: project 'p-q' in environment 'r' would be the Kubernetes group "
        "'p-q-r', which is already project 'p' in environment 'q-r': a group is access, so the two would share it; "
        "rename the id or change the naming template",
    ),
    (
        "admin-username-looks-like-a-human-username",
        [naming(admin_username="projecta:dev:{{SessionName}}")],
        "config/access.yaml: grants.payments.projecta.dev: the username of project 'projecta' in 'dev' "
        "'projecta:dev:{{SessionName}}' and the cluster admins' username 'projecta:dev:{{SessionName}}' can render "
        "the same Kubernetes username for some session name, so audit logs could not tell them apart; change the "
        "naming templates",
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [(e, x) for _, e, x in CASES], ids=[c[0] for c in CASES])
def test_collisions_are_refused_with_one_line(tree: ConfigTree, edits: list[Edit], expected: str) -> None:
    for edit in edits:
        edit(tree)
    with pytest.raises(ConfigError) as error:
        load_stack(tree.project(), "dev")
    assert str(error.value) == expected


def test_the_cases_differ_from_an_accepted_config_only_by_their_edits(tree: ConfigTree) -> None:
    put("settings.yaml", ["naming", "kubernetes_group"], "{project}:{env}")(tree)
    load_stack(tree.project(), "dev")


# --- the property -------------------------------------------------------------------------------------------------

TEMPLATES = st.fixed_dictionaries(
    {},
    optional={
        "kubernetes_group": st.sampled_from(
            ["{project}:{env}", "{env}:{project}", "{project}-{env}", "g-{env}", "team"]
        ),
        "admin_group": st.sampled_from(["eks-access:cluster-admins", "admins", "payments:dev", "projecta:dev"]),
        "monitoring_group": st.sampled_from(["eks-access:monitoring", "dev:projecta", "projecta:dev"]),
        "ci_group": st.sampled_from(["ci:{ci}", "{ci}", "ci", "projecta:{ci}"]),
        "admin_username": st.sampled_from(["cluster-admin:{{SessionName}}", "projecta:dev:{{SessionName}}"]),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations(), TEMPLATES, st.sampled_from(list(AuthMode)))
def test_effective_access_equals_intent_or_the_config_is_refused(
    data: Config, templates: dict[str, str], mode: AuthMode
) -> None:
    data = copy.deepcopy(data)
    data.setdefault("settings.yaml", {}).setdefault("naming", {}).update(templates)
    with config_dir(data) as directory:
        try:
            org = load(directory, label="config")
        except ConfigError as error:
            assert "\n" not in str(error)
            return
    for env in sorted(org.environments):
        shared = sum(1 for e in org.environments.values() if e.cluster == org.environments[env].cluster) > 1
        try:
            plan = plan_environment(org, env, AuthMode.API if shared else mode)
            evaluation = check_stack(org, plan)
        except ConfigError as error:
            assert "\n" not in str(error)
            continue
        declared = intent(org, plan.cluster)
        for principal in set(evaluation.reaches) | set(declared.principals):
            wanted = declared.principals[principal].permissions if principal in declared.principals else frozenset()
            assert evaluation.permissions(principal) == wanted, json.dumps(str(principal))


def test_rows_fold_a_shared_permissions_mapping_once_and_a_personal_binding_apart(sample_org: Organisation) -> None:
    """The rows fold the permissions the evaluator shares between the people behind a role once; a person with a
    binding of their own (a ``User`` subject) has their own mapping, and only their rows show it."""
    from access.core.evaluate.matrix import rows

    docs = documents(sample_org)
    shared = evaluate(docs)
    by_role: dict[str, list[Any]] = {}
    for principal, reaches in shared.reaches.items():
        for reach in reaches:
            if principal.kind is PrincipalKind.USER and reach.role is not None:
                by_role.setdefault(reach.role.name, []).append(reach)
    role, (first, second, *_) = next((name, found) for name, found in sorted(by_role.items()) if len(found) > 1)
    assert first.permissions is second.permissions  # what the rows rely on: one mapping, shared
    assert first.identity.username != second.identity.username  # each signs with their own session name
    personal = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "personal", "namespace": "kube-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": first.identity.username}],
    }
    evaluation = evaluate(dataclasses.replace(docs, manifests=(*docs.manifests, personal)))
    through_role = [r for r in rows(sample_org, evaluation) if r.role == role]
    in_kube_system = {r.username for r in through_role if r.namespace == "kube-system"}
    assert in_kube_system == {first.identity.username}
    assert {r.level for r in through_role if r.namespace == "kube-system"} == {"view"}

    # Everything else the two are given through the role is the same, row for row.
    def elsewhere(username: str) -> list[tuple[str, str, tuple[Any, ...]]]:
        return sorted(
            (r.namespace, r.level, r.rules)
            for r in through_role
            if r.username == username and r.namespace != "kube-system"
        )

    assert elsewhere(first.identity.username) == elsewhere(second.identity.username) != []
    before = [r for r in rows(sample_org, shared) if r.role == role and r.username == second.identity.username]
    assert sorted((r.namespace, r.level, r.rules) for r in before) == elsewhere(second.identity.username)
