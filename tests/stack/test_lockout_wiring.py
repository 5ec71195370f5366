"""The lockout guards as the real program wires them, under Pulumi's mocks (issue 12, items 1, 2, 3, 7).

Patch force pinned off on every provider eks-access creates; the aws-auth patch forced only when another field
manager owns mapRoles; node access entries protected; retirements named in the preview; the cluster's auth mode
checked for every source it does not create itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from access.core import awsauth
from access.core.model import NodeRole, NodeType
from access.core.plan.auth import node_map_entry
from access.stack import offline, pulumi_internals
from access.stack.offline import FAKE_ENDPOINT, Fixtures, OfflineRun, run_program
from tests.helpers import REPO, A, ConfigTree

OLD_NODES = f"{A}:role/eks-dev-old-nodes"


def run(stack: str, project: Path = REPO, fixtures: Fixtures | None = None, **overrides: Any) -> OfflineRun:
    return run_program(project, stack, fixtures, {f"access:{k}": v for k, v in overrides.items()})


@pytest.fixture
def protect(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bool | None]]:
    """The ``protect`` option of every RegisterResource request, by resource name."""
    seen: dict[str, bool | None] = {}
    register = pulumi_mocks.MockMonitor.RegisterResource

    def recording(self: pulumi_mocks.MockMonitor, request: Any) -> Any:
        seen[request.name] = request.protect if request.HasField("protect") else None
        return register(self, request)

    monkeypatch.setattr(pulumi_mocks.MockMonitor, "RegisterResource", recording)
    yield seen


def patch_of(result: OfflineRun) -> dict[str, Any]:
    (patch,) = result.of_type("kubernetes:core/v1:ConfigMapPatch")
    return patch.inputs


def with_cluster(monkeypatch: pytest.MonkeyPatch, **answer: Any) -> None:
    original = offline.AccessMocks.call

    def call(self: offline.AccessMocks, args: pulumi_mocks.MockCallArgs) -> Any:
        result, failures = original(self, args)
        if args.token == "aws:eks/getCluster:getCluster":
            result = {**result, **answer}
        return result, failures

    monkeypatch.setattr(offline.AccessMocks, "call", call)


# --- item 2: patch force pinned off -------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["existing", "stack", "create"])
def test_every_provider_pins_patch_force_off(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit false beats PULUMI_K8S_ENABLE_PATCH_FORCE in the provider (and keeps the SDK from reading it)."""
    monkeypatch.setenv("PULUMI_K8S_ENABLE_PATCH_FORCE", "true")
    extra: dict[str, Any] = {"clusterStack": "acme/eks-clusters/dev"} if source == "stack" else {}
    result = run("dev", clusterSource=source, **extra)
    providers = result.of_type("pulumi:providers:kubernetes")
    assert [p.inputs.get("enablePatchForce") for p in providers] == ["false"]


# --- item 3: forced only when another manager owns what the patch writes -------------------------------------------


def live_with_fields(*managers: str) -> dict[str, Any]:
    nodes = [node_map_entry(NodeRole(f"{A}:role/eks-dev-nodes", NodeType.EC2))]
    nodes.append(node_map_entry(NodeRole(f"{A}:role/eks-dev-fargate-pods", NodeType.FARGATE)))
    return {
        "data": {"mapRoles": awsauth.render(nodes)},
        "annotations": {},
        "managedFields": [
            {"manager": m, "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:mapRoles": {}}}}
            for m in managers
        ],
    }


def test_the_patch_is_unforced_when_only_eks_access_owns_map_roles() -> None:
    annotations = patch_of(run("dev", fixtures=Fixtures(live_aws_auth=live_with_fields("eks-access"))))["metadata"][
        "annotations"
    ]
    assert annotations["pulumi.com/patchFieldManager"] == "eks-access"
    assert "pulumi.com/patchForce" not in annotations


def test_the_patch_is_forced_when_eks_wrote_map_roles_since() -> None:
    fixtures = Fixtures(live_aws_auth=live_with_fields("eks-access", "eks"))
    annotations = patch_of(run("dev", fixtures=fixtures))["metadata"]["annotations"]
    assert annotations["pulumi.com/patchForce"] == "true"


# --- item 1: retirements named, node access entries protected -----------------------------------------------------


def test_a_retired_node_mapping_is_removed_and_named_in_the_preview(
    tree: ConfigTree, caplog: pytest.LogCaptureFixture
) -> None:
    tree.edit("environments.yaml", lambda d: d["clusters"]["dev"].update(retired_node_roles=[OLD_NODES]))
    live = live_with_fields("eks-access")
    old = node_map_entry(NodeRole(OLD_NODES, NodeType.EC2))
    live["data"]["mapRoles"] += awsauth.render([old])
    with caplog.at_level(logging.WARNING):
        result = run("dev", project=tree.project(), fixtures=Fixtures(live_aws_auth=live))
    assert OLD_NODES not in patch_of(result)["data"]["mapRoles"]
    assert (
        f"eks-dev: aws-auth: removing the node mapping of {OLD_NODES} (clusters.dev.retired_node_roles in "
        "config/environments.yaml); nodes still running with this role leave the cluster"
    ) in caplog.messages


def test_a_dropped_node_mapping_stops_the_preview_with_one_line(tree: ConfigTree) -> None:
    old = node_map_entry(NodeRole(OLD_NODES, NodeType.EC2))
    live = live_with_fields("eks-access")
    live["data"]["mapRoles"] += awsauth.render([old])
    live["annotations"] = {"eks-access/managed-arns": f'["{OLD_NODES}"]'}  # this stack mapped it before
    with pytest.raises(pulumi.RunError) as refusal:
        run("dev", fixtures=Fixtures(live_aws_auth=live))
    assert str(refusal.value) == (
        f"eks-dev: live aws-auth mapRoles maps nodes through roles config no longer maps as nodes: {OLD_NODES}; "
        "nodes still running with them would leave the cluster: list them again in the cluster's node_roles, or "
        "under clusters.dev.retired_node_roles in config/environments.yaml to remove their mapping"
    )


def test_node_access_entries_are_protected_and_nothing_else_is(protect: dict[str, bool | None]) -> None:
    result = run("prod")
    entries = {r.name: r.inputs["type"] for r in result.of_type("aws:eks/accessEntry:AccessEntry")}
    assert {name for name, kind in entries.items() if kind != "STANDARD"} == {
        "prod-entry-node-eks-prod-nodes",
        "prod-entry-node-eks-prod-windows-nodes",
    }
    assert {name: protect[name] for name in entries} == {
        name: (True if kind != "STANDARD" else None) for name, kind in entries.items()
    }
    assert not any(protect[r.name] for r in result.created() if r.type != "aws:eks/accessEntry:AccessEntry")


def test_a_retired_node_access_entry_is_named_with_the_command_that_lets_it_go(
    tree: ConfigTree, caplog: pytest.LogCaptureFixture
) -> None:
    windows = f"{A}:role/eks-prod-windows-nodes"
    run("prod")
    urn = next(u for u in pulumi_internals.registered_urns() if u.endswith("::prod-entry-node-eks-prod-windows-nodes"))

    def retire(d: dict[str, Any]) -> None:
        cluster = d["clusters"]["prod"]
        cluster["node_roles"] = [r for r in cluster["node_roles"] if r["arn"] != windows]
        cluster["retired_node_roles"] = [windows]

    tree.edit("environments.yaml", retire)
    with caplog.at_level(logging.WARNING):
        result = run("prod", project=tree.project())
    assert "prod-entry-node-eks-prod-windows-nodes" not in {r.name for r in result.created()}
    assert (
        f"eks-prod: node access entry of {windows} is retired (clusters.prod.retired_node_roles in "
        "config/environments.yaml); if this stack created it, it is protected: run pulumi state unprotect "
        f"'{urn}' and this update deletes it"
    ) in caplog.messages


# --- item 7: the auth mode is checked for every cluster source ----------------------------------------------------


def test_a_config_map_stack_pointed_at_an_api_cluster_through_another_stack_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_cluster(monkeypatch, accessConfigs=[{"authenticationMode": "API"}])
    with pytest.raises(pulumi.RunError) as refusal:
        run("dev", clusterSource="stack", clusterStack="acme/eks-clusters/dev")
    assert str(refusal.value) == (
        "Pulumi.dev.yaml: config.access:authMode: config_map does not fit cluster 'eks-dev': the cluster ignores "
        "aws-auth (API), so mapRoles would grant nothing; migrate the cluster first (docs/auth-modes.md)"
    )


def test_a_cluster_stack_describing_another_cluster_is_refused() -> None:
    fixtures = Fixtures(
        stack_outputs={"endpoint": "https://OTHER.eks.amazonaws.com", "certificateAuthorityData": "Q0E="}
    )
    with pytest.raises(pulumi.RunError) as refusal:
        run("dev", fixtures=fixtures, clusterSource="stack", clusterStack="acme/eks-clusters/prod")
    assert str(refusal.value) == (
        "Pulumi.dev.yaml: config.access:clusterStack: stack 'acme/eks-clusters/prod' publishes endpoint "
        f"'https://OTHER.eks.amazonaws.com', but cluster 'eks-dev' (clusters.dev.name in config/environments.yaml) "
        f"is at '{FAKE_ENDPOINT}'; point clusterStack at the stack that owns that cluster"
    )


def test_a_created_cluster_gets_the_stack_mode_by_construction() -> None:
    result = run("dev", clusterSource="create", authMode="api")
    (cluster,) = result.of_type("eks:index:Cluster")
    assert cluster.inputs["authenticationMode"] == "API"
    assert [c for c in result.calls if c[0] == "aws:eks/getCluster:getCluster"] == []
