"""The policy pack's stack policy: what the engine is about to apply, evaluated and verified as check_stack does.

The pack is run the way the engine runs it: an AnalyzeStackRequest through pulumi-policy's servicer, with the engine's
environment (PULUMI_STACK, PULUMI_CONFIG). The resources are the ones the real program declares under mocks
(access/stack/offline.py), with the properties the engine would hand the pack; each tampered case changes one of
them the way a wrong shell or a hand-added resource would, and must be refused with its own line.
"""

from __future__ import annotations

import contextvars
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
import pulumi.runtime
import pytest
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from access.core import awsauth, loading
from access.core.evaluate import applied
from access.stack.offline import run_program
from tests.helpers import REPO, load_policy_pack

A = "arn:aws:iam::111122223333"
ROLE = "aws:iam/role:Role"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
AWS_AUTH_PATCH = "kubernetes:core/v1:ConfigMapPatch"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"

Resource = dict[str, Any]  # {"type", "name", "props", "dependencies"}


@pytest.fixture(scope="module")
def pack() -> ModuleType:
    return load_policy_pack()


def _urn(stack: str, resource: Resource) -> str:
    return f"urn:pulumi:{stack}::eks-access::{resource['type']}::{resource['name']}"


def _applied(stack: str, project: Path = REPO) -> list[Resource]:
    """Every resource the program declares for ``stack``, with the properties the engine would give the pack: each
    resource's outputs (pulumi's step generator hands AnalyzeStack ``v.Outputs``), the live aws-auth read as the
    cluster returns it."""
    loaded = loading.load_stack(project, stack)
    run = run_program(project, stack, loaded=loaded)
    out = []
    for r in run.resources:
        props = copy.deepcopy(r.outputs)
        if r.read:
            props = {"metadata": {"name": awsauth.NAME, "namespace": awsauth.NAMESPACE}, "data": {}}
        out.append({"type": r.type, "name": r.name, "props": props, "dependencies": {}})
    return out


APPLIED = {stack: _applied(stack) for stack in ("dev", "staging", "prod")}
EXAMPLES = [(example, stack) for example in ("identity-account", "identity-center") for stack in ("dev", "prod")]
EXAMPLE_APPLIED = {(e, s): _applied(s, REPO / "examples" / e) for e, s in EXAMPLES}
PERMISSION_SET = "aws:ssoadmin/permissionSet:PermissionSet"
INLINE_POLICY = "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy"
ASSIGNMENT = "aws:ssoadmin/accountAssignment:AccountAssignment"


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """The environment the engine gives an analyzer (pulumi's analyzer_plugin.go constructEnv)."""

    def configure(stack: str, project: Path = REPO) -> None:
        stack_file = yaml.safe_load((project / f"Pulumi.{stack}.yaml").read_text())["config"]
        engine_config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in stack_file.items()}
        monkeypatch.setenv("PULUMI_STACK", stack)
        monkeypatch.setenv("PULUMI_PROJECT", "eks-access")
        monkeypatch.setenv("PULUMI_DRY_RUN", "true")
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps(engine_config))
        # A fresh analyzer process: no key left in the runtime by the programs run above (pulumi-policy sets the
        # keys of PULUMI_CONFIG, and a stale access:identityRoleArn would stay).
        pulumi.runtime.set_all_config({})

    return configure


def analyze_stack(
    pack: ModuleType,
    stack: str,
    resources: list[Resource],
    config_dir: Path | None = None,
    configure: proto.AnalyzerStackConfigureRequest | None = None,
) -> proto.AnalyzeResponse:
    """AnalyzeStack through pulumi-policy's servicer; with ``configure``, after the engine's ConfigureStack call."""
    servicer = _PolicyAnalyzerServicer(
        pack.PACK_NAME, "1.0.0", pack.stack_policies(config_dir), EnforcementLevel.MANDATORY, *([None] * 7)
    )
    if configure is not None:
        servicer.ConfigureStack(configure, None)
    request = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type=r["type"],
                urn=_urn(stack, r),
                name=r["name"],
                properties=json_format.ParseDict(r["props"], struct_pb2.Struct()),
                propertyDependencies={
                    key: proto.AnalyzerPropertyDependencies(urns=urns) for key, urns in r["dependencies"].items()
                },
            )
            for r in resources
        ]
    )
    return servicer.AnalyzeStack(request, None)


def violations(response: proto.AnalyzeResponse, level: int = proto.analyzer_pb2.MANDATORY) -> list[str]:
    """The messages of one enforcement level, without the policy description pulumi-policy puts first."""
    return [d.message.split("\n", 1)[-1] for d in response.diagnostics if d.enforcementLevel == level]


def tampered(stack: str, change: Callable[[list[Resource]], None]) -> list[Resource]:
    resources = copy.deepcopy(APPLIED[stack])
    change(resources)
    return resources


def find(resources: list[Resource], type_: str, name_ends: str) -> Resource:
    (found,) = [r for r in resources if r["type"] == type_ and r["name"].endswith(name_ends)]
    return found


# --- what the program applies passes -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_what_the_program_applies_gives_exactly_what_config_grants(
    pack: ModuleType, engine: Callable[[str], None], stack: str
) -> None:
    engine(stack)
    response = analyze_stack(pack, stack, APPLIED[stack])
    assert list(response.diagnostics) == []
    assert list(response.not_applicable) == []


def test_the_pack_reads_every_document_the_stack_applies(engine: Callable[[str], None]) -> None:
    """Not vacuous: the part read from the resources is the stack's rendering, document for document."""
    from access.core.evaluate.documents import stack_part

    for stack in ("dev", "staging", "prod"):
        loaded = loading.load_stack(REPO, stack)
        reading = applied.read_stack(
            loaded.plan,
            [applied.AppliedResource(r["type"], _urn(stack, r), r["props"]) for r in APPLIED[stack]],
        )
        rendered = stack_part(loaded.plan)
        assert reading.problems == () and reading.substituted == ()
        # The engine's order is the program's declaration order; the evaluation does not depend on it.
        assert sorted(reading.part.roles, key=repr) == sorted(rendered.roles, key=repr)
        assert sorted(reading.part.group_policies, key=repr) == sorted(rendered.group_policies, key=repr)
        assert sorted(reading.part.memberships, key=repr) == sorted(rendered.memberships, key=repr)
        assert sorted(reading.part.access_entries, key=repr) == sorted(rendered.access_entries, key=repr)
        assert sorted(json.dumps(m, sort_keys=True) for m in reading.part.manifests) == sorted(
            json.dumps(m, sort_keys=True) for m in rendered.manifests
        )
        assert len(reading.part.roles) == 5 and reading.part.manifests
        if rendered.aws_auth is None:
            assert reading.part.aws_auth is None
        else:
            assert reading.part.aws_auth is not None
            assert awsauth.parse(reading.part.aws_auth[0]) == awsauth.parse(rendered.aws_auth[0])


# --- what a wrong shell or a hand-added resource would apply is refused ----------------------------------------


def test_an_extra_binding_subject_is_an_over_grant(pack: ModuleType, engine: Callable[[str], None]) -> None:
    def change(resources: list[Resource]) -> None:
        binding = find(resources, ROLE_BINDING, "projecta-dev/eks-access:humans:operate")
        assert binding["props"]["metadata"]["namespace"] == "projecta-dev"
        binding["props"]["subjects"].append(
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "projectb:dev"}
        )

    engine("dev")
    (message,) = violations(analyze_stack(pack, "dev", tampered("dev", change)))
    assert message.startswith("config/access.yaml: grants.search.projectb.dev: carol would get ")
    assert message.endswith(
        "in projecta-dev and 36 more through role projectb-dev-humans, Kubernetes group projectb:dev, "
        "RoleBinding/projecta-dev/eks-access:humans:operate; config grants operate in projectb-dev. Effective "
        "access must equal what config grants: make the ids or naming templates tell these apart"
    )


def test_a_group_policy_on_every_role_is_an_over_grant(pack: ModuleType, engine: Callable[[str], None]) -> None:
    def change(resources: list[Resource]) -> None:
        policy = find(resources, GROUP_POLICY, "eks-access-payments-eks-access-dev")
        document = json.loads(policy["props"]["policy"])
        document["Statement"][0]["Resource"] = "*"
        policy["props"]["policy"] = json.dumps(document)

    engine("dev")
    (message,) = violations(analyze_stack(pack, "dev", tampered("dev", change)))
    # alice (payments) may now assume projectb's role, whose open trust admits her; the admin role's trust does not.
    assert message.startswith("config/access.yaml: grants.search.projectb.dev: alice would get ")
    assert "through role projectb-dev-humans" in message


def test_a_duplicate_maproles_entry_that_wins_is_an_over_grant(pack: ModuleType, engine: Callable[[str], None]) -> None:
    def change(resources: list[Resource]) -> None:
        patch = find(resources, AWS_AUTH_PATCH, "aws-auth")
        # The authenticator compares ARNs lower-cased and keeps the last duplicate: this one wins.
        patch["props"]["data"]["mapRoles"] += (
            f"- rolearn: '{A.upper()}:ROLE/PROJECTA-DEV-HUMANS'\n"
            "  username: 'projecta:dev:{{SessionName}}'\n"
            "  groups:\n    - 'eks-access:cluster-admins'\n"
        )

    engine("dev")
    (message,) = violations(analyze_stack(pack, "dev", tampered("dev", change)))
    assert message.startswith("config/access.yaml: grants.payments.projecta.dev: alice would get everything ")
    assert "role projectb" not in message and "Kubernetes group eks-access:cluster-admins" in message


def test_a_trust_policy_for_another_account_is_an_over_grant(pack: ModuleType, engine: Callable[[str], None]) -> None:
    def change(resources: list[Resource]) -> None:
        role = find(resources, ROLE, "projecta-dev-humans")
        trust = json.loads(role["props"]["assumeRolePolicy"])
        trust["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::444455556666:root"}
        role["props"]["assumeRolePolicy"] = json.dumps(trust)

    engine("dev")
    messages = violations(analyze_stack(pack, "dev", tampered("dev", change)))
    assert messages and messages[0].startswith("config/access.yaml: grants.payments.projecta.dev: ")
    assert "account 444455556666 (any IAM user its own policies allow) would get " in messages[0]


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        ("kubernetes:rbac.authorization.k8s.io/v1:RoleBindingPatch", {"metadata": {"name": "x", "namespace": "y"}}),
        ("kubernetes:rbac.authorization.k8s.io/v1beta1:ClusterRoleBinding", {"metadata": {"name": "x"}}),
        ("aws:iam/policy:Policy", {"policy": "{}"}),
        ("aws:iam/groupMembership:GroupMembership", {"group": "eks-access-payments", "users": ["mallory"]}),
        ("kubernetes:yaml/v2:ConfigGroup", {}),
    ],
)
def test_a_resource_type_the_pack_cannot_evaluate_is_a_violation(
    pack: ModuleType, engine: Callable[[str], None], type_: str, props: dict[str, Any]
) -> None:
    extra = {"type": type_, "name": "hand-added", "props": props, "dependencies": {}}
    engine("dev")
    (message,) = violations(analyze_stack(pack, "dev", [*APPLIED["dev"], extra]))
    assert message == (
        f"{type_} hand-added: a resource type eks-access does not declare, which the pack cannot evaluate "
        "(it could grant access)"
    )


def test_known_types_used_as_eks_access_never_does_are_violations(
    pack: ModuleType, engine: Callable[[str], None]
) -> None:
    def change(resources: list[Resource]) -> None:
        resources.append(
            {
                "type": "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
                "name": "aggregated",
                "props": {"metadata": {"name": "aggregated"}, "aggregationRule": {"clusterRoleSelectors": []}},
                "dependencies": {},
            }
        )
        resources.append(
            {
                "type": "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "name": "admin-policy",
                "props": {"role": "projecta-dev-humans", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
                "dependencies": {},
            }
        )

    engine("dev")
    messages = violations(analyze_stack(pack, "dev", tampered("dev", change)))
    assert messages == [
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment admin-policy: attaches "
        "arn:aws:iam::aws:policy/AdministratorAccess to role projecta-dev-humans, which config does not declare (a "
        "managed policy can let the role's sessions assume other roles)",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole aggregated: an aggregated ClusterRole: its rules are "
        "whatever the controller aggregates",
    ]


def test_a_missing_binding_is_an_under_grant(pack: ModuleType, engine: Callable[[str], None]) -> None:
    def change(resources: list[Resource]) -> None:
        resources.remove(find(resources, ROLE_BINDING, "projecta-dev/eks-access:humans:operate"))

    engine("dev")
    (message,) = violations(analyze_stack(pack, "dev", tampered("dev", change)))
    assert message.startswith("config/access.yaml: grants.payments.projecta.dev: alice would not get ")


# --- values unknown during preview ---------------------------------------------------------------------------


def _unknown_policies(resources: list[Resource]) -> None:
    for resource in resources:
        if resource["type"] == GROUP_POLICY:
            resource["props"]["policy"] = UNKNOWN_STRING_VALUE


def test_an_unknown_group_policy_is_evaluated_as_rendered_and_said(
    pack: ModuleType, engine: Callable[[str], None]
) -> None:
    engine("dev")
    response = analyze_stack(pack, "dev", tampered("dev", _unknown_policies))
    assert violations(response) == []
    advisories = violations(response, proto.analyzer_pb2.ADVISORY)
    assert len(advisories) == 3
    # The engine's order is the program's registration order, which waits on role ARNs: not asserted.
    assert (
        "aws:iam/groupPolicy:GroupPolicy dev-eks-access-payments-eks-access-dev: policy is not known during preview "
        "(it is built from role ARNs); evaluated as config renders it, and checked as applied when the pack runs "
        "after the update"
    ) in advisories


def test_an_unknown_value_with_no_rendering_is_a_violation(pack: ModuleType, engine: Callable[[str], None]) -> None:
    def change(resources: list[Resource]) -> None:
        extra = copy.deepcopy(find(resources, GROUP_POLICY, "eks-access-payments-eks-access-dev"))
        extra["name"] = "hand-added"
        extra["props"].update(name="extra", policy=UNKNOWN_STRING_VALUE)
        resources.append(extra)
        find(resources, ROLE_BINDING, "projecta-dev/eks-access:humans:operate")["props"]["subjects"] = (
            UNKNOWN_STRING_VALUE
        )

    engine("dev")
    messages = violations(analyze_stack(pack, "dev", tampered("dev", change)))
    assert messages[:2] == [
        "aws:iam/groupPolicy:GroupPolicy hand-added: policy is not known during preview, so the pack cannot verify it",
        f"{ROLE_BINDING} dev-rolebinding/projecta-dev/eks-access:humans:operate: subjects is not known during "
        "preview, so the pack cannot verify it",
    ]


def _entries(resources: list[Resource], stack: str) -> Iterator[tuple[Resource, Resource]]:
    """Access entries whose principal is a role of the stack, with that role."""
    roles = {f"{A}:role/{r['props']['name']}": r for r in resources if r["type"] == ROLE}
    for entry in resources:
        if entry["type"] == ACCESS_ENTRY and entry["props"]["principalArn"] in roles:
            yield entry, roles[entry["props"]["principalArn"]]


def test_an_unknown_principal_is_the_role_it_comes_from(pack: ModuleType, engine: Callable[[str], None]) -> None:
    def change(resources: list[Resource]) -> None:
        pairs = list(_entries(resources, "staging"))
        assert len(pairs) == 5
        for entry, role in pairs:
            entry["props"]["principalArn"] = UNKNOWN_STRING_VALUE
            entry["dependencies"] = {"principalArn": [_urn("staging", role)]}

    engine("staging")
    assert violations(analyze_stack(pack, "staging", tampered("staging", change))) == []

    def unresolved(resources: list[Resource]) -> None:
        entry, _ = next(_entries(resources, "staging"))
        entry["props"]["principalArn"] = UNKNOWN_STRING_VALUE

    messages = violations(analyze_stack(pack, "staging", tampered("staging", unresolved)))
    assert messages[0].endswith(": principalArn is not known during preview, so the pack cannot verify it")


# --- settings and config -------------------------------------------------------------------------------------


def test_config_the_program_refuses_the_pack_refuses(
    pack: ModuleType, engine: Callable[[str], None], tmp_path: Path
) -> None:
    engine("dev")
    (message,) = violations(analyze_stack(pack, "dev", APPLIED["dev"], config_dir=tmp_path / "missing"))
    assert str(tmp_path / "missing") in message


def test_a_cluster_the_stack_creates_is_not_applicable(
    pack: ModuleType, engine: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine("dev")
    config = json.loads(__import__("os").environ["PULUMI_CONFIG"])
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({**config, "access:clusterSource": "create"}))
    response = analyze_stack(pack, "dev", APPLIED["dev"])
    assert list(response.diagnostics) == []
    assert {n.reason for n in response.not_applicable} == {
        "clusterSource create: pulumi-eks writes this sandbox cluster's aws-auth and access entries itself"
    }


def test_a_role_config_does_not_make_is_evaluated_and_named(pack: ModuleType, engine: Callable[[str], None]) -> None:
    def change(resources: list[Resource]) -> None:
        role = copy.deepcopy(find(resources, ROLE, "projecta-dev-humans"))
        role["name"] = "hand-added"
        role["props"]["name"] = "shadow-admins"
        resources.append(role)
        patch = find(resources, AWS_AUTH_PATCH, "aws-auth")
        patch["props"]["data"]["mapRoles"] += (
            f"- rolearn: '{A}:role/shadow-admins'\n  username: 'shadow:{{{{SessionName}}}}'\n"
            "  groups:\n    - 'eks-access:cluster-admins'\n"
        )

    engine("dev")
    (message,) = violations(analyze_stack(pack, "dev", tampered("dev", change)))
    # Every IAM user of the account whose own policies allow it may assume the role: the open trust's principal.
    assert message.startswith(
        "config/environments.yaml: environments.dev: account 111122223333 (any IAM user its own policies allow) "
        "would get everything cluster-wide (cluster-admin) through role shadow-admins"
    )


# --- the engine's own way of telling the pack its stack ----------------------------------------------------------


def _fresh_process_runtime() -> None:
    """The runtime as a new pack process has it: the offline runs above left another stack configured here."""
    pulumi.runtime.configure(pulumi.runtime.Settings(project=None, stack=None, dry_run=False))
    pulumi.runtime.set_all_config({})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_stack_and_its_config_arrive_in_configure_stack_as_the_engine_sends_them(
    pack: ModuleType, monkeypatch: pytest.MonkeyPatch, stack: str
) -> None:
    """Today's engine sends stack, project and config in ConfigureStack and sets no PULUMI_STACK/PULUMI_CONFIG
    (pulumi pkg/v3 analyzer_plugin.go); before the pack received them there, every real preview failed with
    'Pulumi.stack.yaml: config.access:environment: required' (e2e scenario 6)."""
    for name in ("PULUMI_STACK", "PULUMI_PROJECT", "PULUMI_DRY_RUN", "PULUMI_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    stack_file = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]

    def run() -> list[str]:
        _fresh_process_runtime()
        configure = proto.AnalyzerStackConfigureRequest(
            stack=stack,
            project="eks-access",
            dry_run=True,
            config={k: v if isinstance(v, str) else json.dumps(v) for k, v in stack_file.items()},
        )
        return violations(analyze_stack(pack, stack, APPLIED[stack], configure=configure))

    # the runtime's settings and config are context variables: the pack's changes stay in this context
    assert contextvars.copy_context().run(run) == []


def test_without_a_stack_from_the_engine_the_pack_refuses_rather_than_guess(
    pack: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PULUMI_STACK", "PULUMI_PROJECT", "PULUMI_DRY_RUN", "PULUMI_CONFIG"):
        monkeypatch.delenv(name, raising=False)

    def run() -> list[str]:
        _fresh_process_runtime()
        return violations(analyze_stack(pack, "dev", APPLIED["dev"]))

    (refusal,) = contextvars.copy_context().run(run)
    assert "access:environment: required" in refusal


# --- the examples: an identity account, IAM Identity Center ----------------------------------------------------


def _example(
    engine: Callable[..., None], example: str, stack: str, change: Callable[[list[Resource]], None] | None = None
) -> tuple[list[Resource], Path]:
    project = REPO / "examples" / example
    engine(stack, project)
    resources = copy.deepcopy(EXAMPLE_APPLIED[(example, stack)])
    if change is not None:
        change(resources)
    return resources, project / "config"


@pytest.mark.parametrize(("example", "stack"), EXAMPLES)
def test_what_the_examples_apply_passes(
    pack: ModuleType, engine: Callable[..., None], example: str, stack: str
) -> None:
    """The identity provider's resources (group policies and memberships in the identity account; permission sets,
    inline policies and assignments from the Identity Center administrator account) are read and pass."""
    resources, config_dir = _example(engine, example, stack)
    response = analyze_stack(pack, stack, resources, config_dir=config_dir)
    assert list(response.diagnostics) == []


@pytest.mark.parametrize(("example", "stack"), EXAMPLES)
def test_the_pack_reads_the_examples_as_rendered(example: str, stack: str) -> None:
    from access.core.evaluate.documents import stack_part

    project = REPO / "examples" / example
    loaded = loading.load_stack(project, stack)
    reading = applied.read_stack(
        loaded.plan,
        [applied.AppliedResource(r["type"], _urn(stack, r), r["props"]) for r in EXAMPLE_APPLIED[(example, stack)]],
    )
    rendered = stack_part(loaded.plan)
    assert reading.problems == () and reading.substituted == ()
    assert sorted(reading.part.roles, key=repr) == sorted(rendered.roles, key=repr)
    assert sorted(reading.part.group_policies, key=repr) == sorted(rendered.group_policies, key=repr)
    assert sorted(reading.part.memberships, key=repr) == sorted(rendered.memberships, key=repr)
    assert sorted(reading.part.permission_sets, key=repr) == sorted(rendered.permission_sets, key=repr)
    if example == "identity-center":
        account = {"dev": "222222222222", "prod": "333333333333"}[stack]
        assert {(p.account_id, p.name, p.group) for p in reading.part.permission_sets} == {
            (account, f"eks.payments.{stack}", "Payments"),
            (account, f"eks.platform.{stack}", "Platform"),
        }
    else:
        assert reading.part.group_policies and reading.part.permission_sets == ()


def _payments_policy(resources: list[Resource]) -> Resource:
    return find(resources, INLINE_POLICY, "eks.payments.dev-policy")


def _admit_every_sso_role(resources: list[Resource]) -> None:
    """The cluster admins' trust widened to every permission set's role in the account."""
    role = find(resources, ROLE, "dev-cluster-admins")
    trust = json.loads(role["props"]["assumeRolePolicy"])
    trust["Statement"][0]["Condition"]["ArnLike"]["aws:PrincipalArn"] = (
        "arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_*"
    )
    role["props"]["assumeRolePolicy"] = json.dumps(trust)


def test_a_permission_set_policy_on_every_role_is_an_over_grant(pack: ModuleType, engine: Callable[..., None]) -> None:
    """The inline policy is what lets the permission set's role assume a role whose trust admits it (the trust names
    the account): with Resource "*" Payments reaches every role that admits its SSO role."""

    def every_role(resources: list[Resource]) -> None:
        policy = _payments_policy(resources)
        document = json.loads(policy["props"]["inlinePolicy"])
        document["Statement"][0]["Resource"] = "*"
        policy["props"]["inlinePolicy"] = json.dumps(document)

    # Alone it grants nothing more: each role's trust admits only its own team's permission set.
    resources, config_dir = _example(engine, "identity-center", "dev", every_role)
    assert violations(analyze_stack(pack, "dev", resources, config_dir=config_dir)) == []

    def both(resources: list[Resource]) -> None:
        every_role(resources)
        _admit_every_sso_role(resources)

    resources, config_dir = _example(engine, "identity-center", "dev", both)
    (message,) = violations(analyze_stack(pack, "dev", resources, config_dir=config_dir))
    assert message.startswith(
        f"{config_dir}/access.yaml: cluster_admins: Identity Center group Payments would get everything cluster-wide "
        "(cluster-admin) through role dev-cluster-admins, Kubernetes group eks-access:cluster-admins, "
        "ClusterRoleBinding/eks-access:cluster-admins; config grants operate in projecta-dev."
    )


@pytest.mark.parametrize(
    ("change_props", "expected"),
    [
        (
            {"targetId": "333333333333"},
            "assigns permission set eks.payments.dev in AWS_ACCOUNT 333333333333, not in this environment's account "
            "222222222222",
        ),
        (
            {"principalType": "USER"},
            "assigns permission set eks.payments.dev to a USER; eks-access assigns it to the Identity Center group "
            "Payments only",
        ),
        (
            {},
            "a second assignment of permission set eks.payments.dev (eks-access assigns it once, to the group "
            "Payments; the pack cannot tell which group another one names)",
        ),
        (
            {"permissionSetArn": "arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-00000000deadbeef"},
            "permission set 'arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-00000000deadbeef' is not one "
            "this stack declares (the pack cannot tell what it allows or to whom)",
        ),
    ],
)
def test_an_extra_account_assignment_is_a_violation(
    pack: ModuleType, engine: Callable[..., None], change_props: dict[str, Any], expected: str
) -> None:
    def change(resources: list[Resource]) -> None:
        extra = copy.deepcopy(find(resources, ASSIGNMENT, "eks.payments.dev-assignment"))
        extra["name"] = "hand-added"
        extra["props"].update(principalId="0123abcd-0000-0000-0000-000000000000", **change_props)
        resources.append(extra)

    resources, config_dir = _example(engine, "identity-center", "dev", change)
    (message,) = violations(analyze_stack(pack, "dev", resources, config_dir=config_dir))
    assert message == f"{ASSIGNMENT} hand-added: {expected}"


def test_a_permission_set_config_does_not_declare_is_a_violation(pack: ModuleType, engine: Callable[..., None]) -> None:
    def change(resources: list[Resource]) -> None:
        extra = copy.deepcopy(find(resources, PERMISSION_SET, "eks.payments.dev"))
        extra["name"] = "hand-added"
        extra["props"]["name"] = "eks.payments.prod"
        resources.append(extra)
        managed = {
            "type": "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment",
            "name": "admin",
            "props": {"managedPolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            "dependencies": {},
        }
        resources.append(managed)

    resources, config_dir = _example(engine, "identity-center", "dev", change)
    assert violations(analyze_stack(pack, "dev", resources, config_dir=config_dir)) == [
        "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment admin: a resource type eks-access does not "
        "declare, which the pack cannot evaluate (it could grant access)",
        f"{PERMISSION_SET} hand-added: permission set eks.payments.prod, which config does not declare for "
        "environment dev (the pack could not tell which group its assignments give it to)",
    ]


def test_a_missing_assignment_is_an_under_grant(pack: ModuleType, engine: Callable[..., None]) -> None:
    def change(resources: list[Resource]) -> None:
        resources.remove(find(resources, ASSIGNMENT, "eks.payments.dev-assignment"))

    resources, config_dir = _example(engine, "identity-center", "dev", change)
    (message,) = violations(analyze_stack(pack, "dev", resources, config_dir=config_dir))
    # Without the assignment the pack cannot tie the role's trusted SSO pattern to the group: an unknown principal.
    assert message.startswith(
        f"{config_dir}/access.yaml: grants.payments.projecta.dev: arn:aws:iam::222222222222:role/"
        "awsreservedsso_eks.payments.dev_???????????????? would get get endpoints in projecta-dev"
    )
    assert message.endswith(
        "config grants it nothing here. Effective access must equal what config grants: make "
        "the ids or naming templates tell these apart"
    )


def test_unknown_permission_set_values_are_resolved_through_dependencies(
    pack: ModuleType, engine: Callable[..., None]
) -> None:
    """During a preview of a new permission set its ARN, and the inline policy built from new role ARNs, are unknown:
    the engine's property dependency names the permission set, and the policy is evaluated as rendered (said)."""

    def change(resources: list[Resource]) -> None:
        for resource in resources:
            if resource["type"] == PERMISSION_SET:
                resource["props"]["arn"] = UNKNOWN_STRING_VALUE
                source = _urn("dev", resource)
                for linked in resources:
                    if linked["type"] in (INLINE_POLICY, ASSIGNMENT) and linked["name"].startswith(resource["name"]):
                        linked["props"]["permissionSetArn"] = UNKNOWN_STRING_VALUE
                        linked["dependencies"] = {"permissionSetArn": [source]}
            if resource["type"] == INLINE_POLICY:
                resource["props"]["inlinePolicy"] = UNKNOWN_STRING_VALUE

    resources, config_dir = _example(engine, "identity-center", "dev", change)
    response = analyze_stack(pack, "dev", resources, config_dir=config_dir)
    assert violations(response) == []
    assert sorted(violations(response, proto.analyzer_pb2.ADVISORY)) == [
        f"{INLINE_POLICY} dev-eks.{team}.dev-policy: inlinePolicy is not known during preview (it is built from role "
        "ARNs); evaluated as config renders it, and checked as applied when the pack runs after the update"
        for team in ("payments", "platform")
    ]

    def unresolved(resources: list[Resource]) -> None:
        change(resources)
        _payments_policy(resources)["dependencies"] = {}

    resources, config_dir = _example(engine, "identity-center", "dev", unresolved)
    messages = violations(analyze_stack(pack, "dev", resources, config_dir=config_dir))
    assert (
        f"{INLINE_POLICY} dev-eks.payments.dev-policy: permissionSetArn is not known during preview, so the pack "
        "cannot verify it" in messages
    )


# --- a role's own policy properties -----------------------------------------------------------------------------


def _role_props(resources: list[Resource], name: str) -> dict[str, Any]:
    (role,) = [r for r in resources if r["type"] == ROLE and r["props"].get("name") == name]
    props: dict[str, Any] = role["props"]
    return props


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "inlinePolicies",
            [{"name": "extra", "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "*"}]})}],
            "role projecta-dev-humans has inline policies, which eks-access never writes",
        ),
        (
            "managedPolicyArns",
            ["arn:aws:iam::aws:policy/AdministratorAccess"],
            "role projecta-dev-humans has managed policies config does not declare: "
            "arn:aws:iam::aws:policy/AdministratorAccess",
        ),
    ],
    ids=["inline", "managed"],
)
def test_a_role_s_own_policies_are_violations(
    pack: ModuleType, engine: Callable[[str], None], key: str, value: Any, expected: str
) -> None:
    """pulumi-aws v7 still honours a Role's inlinePolicies and managedPolicyArns (deprecated); eks-access sets
    neither, so either one would be a policy the evaluator never sees."""

    def change(resources: list[Resource]) -> None:
        _role_props(resources, "projecta-dev-humans")[key] = value

    engine("dev")
    (message,) = violations(analyze_stack(pack, "dev", tampered("dev", change)))
    assert expected in message


def test_a_role_s_policy_properties_as_aws_reports_them_after_an_update_pass(
    pack: ModuleType, engine: Callable[[str], None]
) -> None:
    """After an update the engine reports what AWS holds: no inline policy (an empty entry), and no managed ARN
    config does not declare; before a create they are unknown, said as evaluated the way config declares them."""

    def reported(resources: list[Resource]) -> None:
        props = _role_props(resources, "projecta-dev-humans")
        props["inlinePolicies"] = [{"name": "", "policy": ""}]
        props["managedPolicyArns"] = []

    def unknown(resources: list[Resource]) -> None:
        props = _role_props(resources, "projecta-dev-humans")
        props["inlinePolicies"] = UNKNOWN_STRING_VALUE
        props["managedPolicyArns"] = UNKNOWN_STRING_VALUE

    engine("dev")
    assert list(analyze_stack(pack, "dev", tampered("dev", reported)).diagnostics) == []
    response = analyze_stack(pack, "dev", tampered("dev", unknown))
    assert violations(response) == []
    advisories = violations(response, proto.analyzer_pb2.ADVISORY)
    assert any("projecta-dev-humans" in a and "managedPolicyArns is not known during preview" in a for a in advisories)
