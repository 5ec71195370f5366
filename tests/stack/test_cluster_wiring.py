"""Wiring of the cluster side under Pulumi's mocks: which resources, with which inputs and options.

Content (mapRoles text, manifests) is tested on the pure core; here the question is whether the real
program hands that content to the right resources. Resource options (retainOnDelete, replaceOnChanges,
deleteBeforeReplace) are not visible to ``Mocks.new_resource``, so they are read from the
RegisterResource requests the SDK sends to the (mock) engine: exactly what a real engine would receive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from access.core import awsauth
from access.core.model import AuthMode
from access.core.plan.environment import plan_environment
from access.core.plan.types import EnvironmentPlan
from access.stack import offline
from access.stack.cluster import auth_mode_problem
from access.stack.offline import FAKE_CA, FAKE_ENDPOINT, Fixtures, OfflineRun, Registered, run_program
from tests.helpers import REPO, ConfigTree

ACCOUNT = "111122223333"
STRANGER = f"arn:aws:iam::{ACCOUNT}:role/stranger"


@dataclass
class Request:
    """The options part of a RegisterResource request."""

    type: str
    retain_on_delete: bool | None
    replace_on_changes: list[str]
    delete_before_replace: bool
    delete_before_replace_defined: bool  # False: left to the provider (Kubernetes asks for it on same-name replaces)
    provider: str
    dependencies: list[str] = field(default_factory=list, compare=False)  # URNs of explicit depends_on


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Request]]:
    seen: dict[str, Request] = {}
    register = pulumi_mocks.MockMonitor.RegisterResource

    def recording(self: pulumi_mocks.MockMonitor, request: Any) -> Any:
        seen[request.name] = Request(
            type=request.type,
            retain_on_delete=request.retainOnDelete if request.HasField("retainOnDelete") else None,
            replace_on_changes=list(request.replaceOnChanges),
            delete_before_replace=request.deleteBeforeReplace,
            delete_before_replace_defined=request.deleteBeforeReplaceDefined,
            provider=request.provider,
            dependencies=list(request.dependencies),
        )
        return register(self, request)

    monkeypatch.setattr(pulumi_mocks.MockMonitor, "RegisterResource", recording)
    yield seen


def run(stack: str, project: Path = REPO, fixtures: Fixtures | None = None, **overrides: Any) -> OfflineRun:
    return run_program(project, stack, fixtures, {f"access:{k}": v for k, v in overrides.items()})


def one(found: list[Registered]) -> Registered:
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def plan_of(stack: str, mode: AuthMode) -> EnvironmentPlan:
    from access.core.config import load

    return plan_environment(load(REPO / "config", label="config"), stack, mode, stack)


def node_only_live(plan: EnvironmentPlan) -> tuple[dict[str, str], dict[str, str]]:
    return {"mapRoles": awsauth.render([e for e in plan.map_roles if e.source == "node"])}, {}


# --- aws-auth ------------------------------------------------------------------------------------------------------


def test_patch_receives_the_rendered_map_merged_with_the_live_one() -> None:
    result = run("dev")
    plan = plan_of("dev", AuthMode.CONFIG_MAP)
    merged = awsauth.merge(plan.map_roles, plan.map_users, *node_only_live(plan), "eks-access/dev", ())
    read = [r for r in result.resources if r.read]
    assert [(r.type, r.name) for r in read] == [("kubernetes:core/v1:ConfigMap", "dev-aws-auth-live")]
    patch = one(result.of_type("kubernetes:core/v1:ConfigMapPatch"))
    assert patch.inputs["data"] == {"mapRoles": merged.map_roles}
    assert patch.inputs["metadata"] == {
        "name": "aws-auth",
        "namespace": "kube-system",
        "annotations": {
            **merged.annotations,
            "pulumi.com/patchFieldManager": "eks-access",
            "pulumi.com/patchForce": "true",  # the mocked live map has no managedFields: nothing to tell, so force
        },
    }
    assert result.outputs["mapRoles"] == merged.map_roles
    assert result.of_type("kubernetes:core/v1:ConfigMap") == []  # never a whole ConfigMap resource


def test_patch_is_retained_on_delete_and_has_no_replacement_trigger(requests: dict[str, Request]) -> None:
    run("dev")
    assert requests["dev-aws-auth"] == Request(
        type="kubernetes:core/v1:ConfigMapPatch",
        retain_on_delete=True,
        replace_on_changes=[],
        delete_before_replace=False,
        delete_before_replace_defined=False,
        provider=requests["dev-aws-auth"].provider,
    )
    assert requests["dev-aws-auth"].provider.split("::")[-2:-1] == ["dev-k8s"]


def test_cluster_without_aws_auth_is_not_read_and_the_patch_is_not_forced() -> None:
    result = run("dev", awsAuthExists=False)
    plan = plan_of("dev", AuthMode.CONFIG_MAP)
    assert [r for r in result.resources if r.read] == []
    patch = one(result.of_type("kubernetes:core/v1:ConfigMapPatch"))
    assert patch.inputs["data"] == {"mapRoles": awsauth.render(plan.map_roles)}
    assert "pulumi.com/patchForce" not in patch.inputs["metadata"]["annotations"]


def test_unknown_live_entry_stops_the_preview() -> None:
    live = {"data": {"mapRoles": f"- rolearn: {STRANGER}\n  username: s\n  groups: [x]\n"}, "annotations": {}}
    with pytest.raises(pulumi.RunError) as refusal:
        run("dev", fixtures=Fixtures(live_aws_auth=live))
    assert str(refusal.value) == (
        f"eks-dev: live aws-auth mapRoles has entries eks-access did not write and config does not list: {STRANGER}; "
        "list them in the cluster's node_roles or under clusters.dev.keep_map_roles in config/environments.yaml "
        "(EKS adds node-group roles itself)"
    )


def test_map_owned_by_another_stack_stops_the_preview() -> None:
    live = {"data": {}, "annotations": {"eks-access/owner": "eks-access/staging"}}
    with pytest.raises(pulumi.RunError) as refusal:
        run("dev", fixtures=Fixtures(live_aws_auth=live))
    assert str(refusal.value).startswith("eks-dev: kube-system/aws-auth is owned by stack 'eks-access/staging'")


def test_unparseable_live_map_stops_the_preview() -> None:
    live = {"data": {"mapRoles": "- rolearn: [unclosed\n"}, "annotations": {}}
    with pytest.raises(pulumi.RunError) as refusal:
        run("dev", fixtures=Fixtures(live_aws_auth=live))
    assert str(refusal.value).startswith("eks-dev: live aws-auth mapRoles is not valid YAML")


def test_entry_listed_in_keep_map_roles_is_carried_into_the_patch(tree: ConfigTree) -> None:
    tree.edit("environments.yaml", lambda d: d["clusters"]["dev"].update(keep_map_roles=[STRANGER]))
    live = {"data": {"mapRoles": f"- rolearn: {STRANGER}\n  username: s\n  groups: [x]\n"}, "annotations": {}}
    result = run("dev", project=tree.project(), fixtures=Fixtures(live_aws_auth=live))
    map_roles = one(result.of_type("kubernetes:core/v1:ConfigMapPatch")).inputs["data"]["mapRoles"]
    assert f"- rolearn: '{STRANGER}'\n  username: 's'\n  groups:\n    - 'x'\n" in map_roles


# --- access entries --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "patches", "entries"), [("dev", 1, 0), ("staging", 1, 6), ("prod", 0, 8)])
def test_access_entries_only_in_api_modes(stack: str, patches: int, entries: int) -> None:
    result = run(stack)
    assert len(result.of_type("kubernetes:core/v1:ConfigMapPatch")) == patches
    assert len(result.of_type("aws:eks/accessEntry:AccessEntry")) == entries
    assert bool([r for r in result.resources if r.read]) == bool(patches)


def test_access_entries_use_the_role_resources_and_eks_property_names() -> None:
    result = run("prod")
    entries = {r.name: r.inputs for r in result.of_type("aws:eks/accessEntry:AccessEntry")}
    assert entries["prod-entry-human-projecta-view"] == {
        "clusterName": "eks-prod",
        "principalArn": f"arn:aws:iam::{ACCOUNT}:role/projecta-prod-humans",  # the mocked role resource's ARN
        "type": "STANDARD",
        "userName": "projecta:prod:{{SessionName}}",
        "kubernetesGroups": ["projecta:prod"],
    }
    assert entries["prod-entry-node-eks-prod-windows-nodes"] == {
        "clusterName": "eks-prod",
        "principalArn": f"arn:aws:iam::{ACCOUNT}:role/eks-prod-windows-nodes",
        "type": "EC2_WINDOWS",
    }
    association = one(result.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation"))
    assert association.inputs == {
        "clusterName": "eks-prod",
        "principalArn": f"arn:aws:iam::{ACCOUNT}:role/eks-prod-break-glass",
        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        "accessScope": {"type": "cluster"},
    }


# --- RBAC resources ----------------------------------------------------------------------------------------------


def test_bindings_are_replaced_when_role_ref_changes_and_namespaces_are_retained(requests: dict[str, Request]) -> None:
    result = run("dev")
    created = {r.name: r.type for r in result.created() if r.type.startswith("kubernetes:")}
    bindings = [n for n, t in created.items() if t.endswith(("v1:RoleBinding", "v1:ClusterRoleBinding"))]
    assert len(bindings) == 6  # a human and a CI binding in each of two namespaces, admins and monitoring
    for name in bindings:
        assert (requests[name].replace_on_changes, requests[name].delete_before_replace) == (["roleRef"], True)
    for name in created:
        if name not in bindings:
            assert requests[name].replace_on_changes == [], name
    namespaces = [n for n, t in created.items() if t == "kubernetes:core/v1:NamespacePatch"]
    assert namespaces == ["dev-namespace/projecta-dev", "dev-namespace/projectb-dev"]
    assert all(requests[n].retain_on_delete is True for n in namespaces)
    assert all(requests[n].retain_on_delete is None for n in bindings)  # removing a grant deletes its binding
    others = [n for n in created if n not in bindings]
    assert all(not requests[n].delete_before_replace_defined for n in others), others


def test_replacements_that_reuse_a_unique_key_delete_first(requests: dict[str, Request]) -> None:
    """IAM role names ignore the path; access entries are one per principal; associations are keyed by
    principal and policy. Created first, each replacement would collide with, or be undone by, the old one."""
    run("dev")
    run("prod")
    by_type: dict[str, list[Request]] = {}
    for request in requests.values():
        by_type.setdefault(request.type, []).append(request)
    for typ in (
        "aws:iam/role:Role",
        "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    ):
        assert by_type[typ], typ
        assert all(r.delete_before_replace and r.delete_before_replace_defined for r in by_type[typ]), typ
    # Team groups outlive a removed team until every environment's stack has dropped its inline policy.
    groups = by_type["aws:iam/group:Group"]
    assert len(groups) == 3
    assert all(r.retain_on_delete is True for r in groups)


def test_manifests_are_passed_as_planned(requests: dict[str, Request]) -> None:
    result = run("dev")
    plan = plan_of("dev", AuthMode.CONFIG_MAP)
    by_name = {r.name: r.inputs for r in result.created()}
    binding = by_name["dev-rolebinding/projecta-dev/eks-access:humans:operate"]
    planned = next(m for m in plan.manifests if m["metadata"]["name"] == "eks-access:humans:operate")
    assert binding["roleRef"] == planned["roleRef"] and binding["subjects"] == planned["subjects"]
    assert binding["metadata"] == planned["metadata"]
    service_account = by_name["dev-serviceaccount/projecta-dev/jenkins-deployer"]
    assert service_account["automountServiceAccountToken"] is False


# --- reaching the cluster --------------------------------------------------------------------------------------


def kubeconfig_of(result: OfflineRun) -> dict[str, Any]:
    return json.loads(one(result.of_type("pulumi:providers:kubernetes")).inputs["kubeconfig"])


def test_existing_cluster_provider_uses_get_cluster_and_exec_auth(requests: dict[str, Request]) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/eks-access-deployer"
    result = run("dev", deployRoleArn=role)
    assert [c for c in result.calls if c[0] == "aws:eks/getCluster:getCluster"] == [
        ("aws:eks/getCluster:getCluster", {"name": "eks-dev"})
    ]
    kubeconfig = kubeconfig_of(result)
    assert kubeconfig["clusters"] == [
        {"name": "eks-dev", "cluster": {"server": FAKE_ENDPOINT, "certificate-authority-data": FAKE_CA}}
    ]
    assert kubeconfig["users"][0]["user"]["exec"]["args"] == [
        "--region", "eu-west-1", "eks", "get-token", "--cluster-name", "eks-dev", "--output", "json",
        "--role-arn", role,
    ]  # fmt: skip
    assert list(kubeconfig["users"][0]["user"]) == ["exec"]  # no stored token or client key
    provider = one(result.of_type("pulumi:providers:kubernetes"))
    assert provider.inputs["enableServerSideApply"] == "true"  # provider config travels as strings
    for registered in result.created():
        if registered.type.startswith("kubernetes:"):
            assert requests[registered.name].provider.split("::")[-2] == "dev-k8s", registered.name


def test_stack_reference_provider_uses_the_cluster_stack_outputs() -> None:
    endpoint = FAKE_ENDPOINT.lower() + "/"  # the same endpoint, as another tool may write it
    fixtures = Fixtures(stack_outputs={"endpoint": endpoint, "certificateAuthorityData": "Q0FEQVRB"})
    result = run("dev", fixtures=fixtures, clusterSource="stack", clusterStack="acme/eks-clusters/dev")
    reference = one([r for r in result.resources if r.type == "pulumi:pulumi:StackReference"])
    assert reference.inputs["name"] == "acme/eks-clusters/dev"
    # The cluster itself is still described: its auth mode is checked, and the other stack must describe it.
    assert [c[1]["name"] for c in result.calls if c[0] == "aws:eks/getCluster:getCluster"] == ["eks-dev"]
    assert kubeconfig_of(result)["clusters"][0]["cluster"] == {
        "server": endpoint,
        "certificate-authority-data": "Q0FEQVRB",
    }
    assert len(result.of_type("kubernetes:core/v1:ConfigMapPatch")) == 1


def test_created_cluster_gets_the_mappings_and_eks_owns_aws_auth() -> None:
    result = run("dev", clusterSource="create")
    plan = plan_of("dev", AuthMode.CONFIG_MAP)
    cluster = one(result.of_type("eks:index:Cluster"))
    assert cluster.inputs == {
        "name": "eks-dev",
        "authenticationMode": "CONFIG_MAP",
        "roleMappings": [{"roleArn": e.arn, "username": e.username, "groups": list(e.groups)} for e in plan.map_roles],
    }
    assert result.of_type("kubernetes:core/v1:ConfigMapPatch") == []
    assert [r for r in result.resources if r.read] == []
    assert (
        one(result.of_type("pulumi:providers:kubernetes")).inputs["kubeconfig"] == "{}"
    )  # the cluster's kubeconfigJson
    assert len(result.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")) == 4


def test_created_api_cluster_gets_access_entries_with_break_glass_policy() -> None:
    result = run("prod", clusterSource="create")
    cluster = one(result.of_type("eks:index:Cluster"))
    assert "roleMappings" not in cluster.inputs and cluster.inputs["authenticationMode"] == "API"
    entries = cluster.inputs["accessEntries"]
    assert sorted(entries) == sorted(e.key.replace("/", "-") for e in plan_of("prod", AuthMode.API).access_entries)
    assert entries["break-glass"] == {
        "principalArn": f"arn:aws:iam::{ACCOUNT}:role/eks-prod-break-glass",
        "type": "STANDARD",
        "username": "break-glass:{{SessionName}}",
        "accessPolicies": {
            "AmazonEKSClusterAdminPolicy": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "accessScope": {"type": "cluster"},
            }
        },
    }
    assert entries["node-eks-prod-nodes"] == {"principalArn": f"arn:aws:iam::{ACCOUNT}:role/eks-prod-nodes",
                                             "type": "EC2_LINUX"}  # fmt: skip
    assert result.of_type("aws:eks/accessEntry:AccessEntry") == []


def test_created_cluster_maps_roles_without_their_path(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update(path="/teams/"))
    cluster = one(run("dev", project=tree.project(), clusterSource="create").of_type("eks:index:Cluster"))
    arns = [m["roleArn"] for m in cluster.inputs["roleMappings"]]
    assert f"arn:aws:iam::{ACCOUNT}:role/projecta-dev-humans" in arns and not any("/teams/" in a for a in arns)


# --- auth mode of the live cluster ----------------------------------------------------------------------------------


def with_cluster_mode(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    answer = offline.AccessMocks.call

    def call(self: offline.AccessMocks, args: pulumi_mocks.MockCallArgs) -> Any:
        result, failures = answer(self, args)
        if args.token == "aws:eks/getCluster:getCluster":
            result = {**result, "accessConfigs": [{"authenticationMode": mode}]}
        return result, failures

    monkeypatch.setattr(offline.AccessMocks, "call", call)


def test_config_map_stack_on_an_api_cluster_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with_cluster_mode(monkeypatch, "API")
    with pytest.raises(pulumi.RunError) as refusal:
        run("dev")
    assert str(refusal.value) == (
        "Pulumi.dev.yaml: config.access:authMode: config_map does not fit cluster 'eks-dev': the cluster ignores "
        "aws-auth (API), so mapRoles would grant nothing; migrate the cluster first (docs/auth-modes.md)"
    )


def test_every_stack_mode_fits_a_cluster_in_the_middle_of_the_migration(monkeypatch: pytest.MonkeyPatch) -> None:
    with_cluster_mode(monkeypatch, "API_AND_CONFIG_MAP")
    for stack in ("dev", "staging", "prod"):
        assert run(stack).outputs["clusterName"] == f"eks-{stack}"


def test_auth_mode_problems() -> None:
    assert auth_mode_problem("CONFIG_MAP", AuthMode.CONFIG_MAP) is None
    assert auth_mode_problem("CONFIG_MAP", AuthMode.API_AND_CONFIG_MAP) == (
        "the cluster only reads aws-auth (CONFIG_MAP) and rejects access entries"
    )
    assert auth_mode_problem("API", AuthMode.API) is None
    assert auth_mode_problem("API", AuthMode.API_AND_CONFIG_MAP) is not None
    assert all(auth_mode_problem("API_AND_CONFIG_MAP", mode) is None for mode in AuthMode)
    assert auth_mode_problem(None, AuthMode.API) is None


# --- against a real cluster -----------------------------------------------------------------------------------------


@pytest.mark.cloud
@pytest.mark.skipif(os.environ.get("EKS_ACCESS_CLOUD_TESTS") != "1", reason="needs EKS_ACCESS_CLOUD_TESTS=1")
def test_patch_creates_when_absent_and_survives_destroy() -> None:
    """Manual/cloud check of the two behaviours mocks cannot show (docs/kubernetes.md, "Verifying on a cluster").

    Needs: a throwaway EKS cluster in CONFIG_MAP mode with no node group (so no aws-auth yet), the
    Pulumi CLI, credentials, and EKS_ACCESS_TEST_STACK naming a stack of this project pointed at it.
      1. kubectl -n kube-system get configmap aws-auth  -> NotFound
      2. pulumi up -s $STACK -c access:awsAuthExists=false  -> the ConfigMapPatch creates aws-auth (SSA apply)
      3. kubectl get ... -o yaml: mapRoles equals the stack output mapRoles; annotation eks-access/owner set
      4. pulumi up -s $STACK (awsAuthExists true): the live map is read, no change
      5. pulumi destroy -s $STACK: aws-auth is still there with the same mapRoles (retainOnDelete)
    """
    import subprocess

    stack = os.environ["EKS_ACCESS_TEST_STACK"]

    def kubectl_aws_auth() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "-n", "kube-system", "get", "configmap", "aws-auth", "-o", "json"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    assert kubectl_aws_auth().returncode != 0, "start from a cluster without aws-auth"
    subprocess.run(["pulumi", "up", "--yes", "-s", stack, "-c", "access:awsAuthExists=false"], cwd=REPO, check=True)
    created = json.loads(kubectl_aws_auth().stdout)
    outputs = json.loads(
        subprocess.run(["pulumi", "stack", "output", "-s", stack, "--json"], cwd=REPO, capture_output=True,
                       text=True, check=True).stdout
    )  # fmt: skip
    assert created["data"]["mapRoles"] == outputs["mapRoles"]
    subprocess.run(["pulumi", "up", "--yes", "-s", stack, "-c", "access:awsAuthExists=true"], cwd=REPO, check=True)
    subprocess.run(["pulumi", "destroy", "--yes", "-s", stack], cwd=REPO, check=True)
    retained = json.loads(kubectl_aws_auth().stdout)
    assert retained["data"]["mapRoles"] == outputs["mapRoles"]


def test_patch_waits_for_nothing_but_the_live_read_and_rbac_for_its_namespace(requests: dict[str, Request]) -> None:
    """The patch is written right after the live read (waiting for the roles would widen the window in which EKS
    adds an entry the patch then overwrites; a mapping of a role not created yet is harmless, the authenticator
    matches ARNs only), and a RoleBinding is created after its namespace and the ClusterRole it references (and
    deleted before it), so no binding ever points at nothing."""
    run("dev")
    assert len([n for n, r in requests.items() if r.type == "aws:iam/role:Role"]) == 5
    assert [urn.rsplit("::", 1)[-1] for urn in requests["dev-aws-auth"].dependencies] == ["dev-aws-auth-live"]

    def depends(name: str) -> list[str]:
        return sorted(urn.rsplit("::", 1)[-1] for urn in requests[name].dependencies)

    assert depends("dev-rolebinding/projecta-dev/eks-access:humans:operate") == [
        "dev-clusterrole/eks-access:dev:operate",
        "dev-namespace/projecta-dev",
    ]
    assert depends("dev-rolebinding/projecta-dev/eks-access:ci:jenkins") == [
        "dev-clusterrole/eks-access:dev:ci:jenkins",
        "dev-namespace/projecta-dev",
    ]
    assert depends("dev-serviceaccount/projecta-dev/jenkins-deployer") == ["dev-namespace/projecta-dev"]
    assert depends("dev-clusterrolebinding/eks-access:monitoring") == ["dev-clusterrole/eks-access:monitoring"]
    assert depends("dev-clusterrole/eks-access:dev:operate") == []
