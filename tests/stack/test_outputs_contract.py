"""Stack outputs are a public API: the key set, the value types and the values, pinned.

The real program runs under Pulumi's mocks (``access.stack.offline.run_program``); what it returns is what
``pulumi.export`` publishes. docs/outputs.md documents every key asserted here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from access.core.outputs import ACCESS_ENTRY_KEYS, CLUSTER_KEYS, KUBECONFIG_KEYS, OUTPUT_KEYS, OUTPUTS_VERSION
from access.stack.offline import FAKE_CA, FAKE_ENDPOINT, run_program
from tests.helpers import REPO, ConfigTree

# The contract, written out: changing it breaks consumers and must be a deliberate edit here and in the docs.
CONTRACT: dict[str, type] = {
    "outputsVersion": int,
    "environment": str,
    "accountId": str,
    "clusterName": str,
    "authMode": str,
    "cluster": dict,
    "roleArns": dict,
    "adminRoleArn": str,
    "monitoringRoleArn": str,
    "ciRoleArns": dict,
    "groupNames": dict,
    "namespaces": dict,
    "kubernetesGroups": dict,
    "mapRoles": str,
    "accessEntries": dict,
    "kubeconfigs": dict,
}
KUBECONFIG_CONTRACT: dict[str, type] = {
    "clusterName": str,
    "endpoint": str,
    "certificateAuthorityData": str,
    "region": str,
    "roleArn": str,
    "namespace": str,
    "sessionNameIsUserName": bool,
}
ACCESS_ENTRY_CONTRACT: dict[str, type] = {"principalArn": str, "type": str, "username": str, "kubernetesGroups": list}
CLUSTER_CONTRACT: dict[str, type] = {"name": str, "endpoint": str, "certificateAuthorityData": str, "region": str}
# Maps keyed {project: {level: value}} whatever the config: one shape, so consumers never see a key re-shaped.
PER_PROJECT_AND_LEVEL = ("roleArns", "kubernetesGroups", "kubeconfigs")
ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+$")
ACCOUNT = "111122223333"


def outputs_of(project: Path, stack: str) -> dict[str, Any]:
    return run_program(project, stack).outputs


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    return outputs_of(REPO, "dev")


def test_documented_key_sets_match_the_module() -> None:
    assert set(OUTPUT_KEYS) == set(CONTRACT)
    assert set(KUBECONFIG_KEYS) == set(KUBECONFIG_CONTRACT)
    assert set(ACCESS_ENTRY_KEYS) == set(ACCESS_ENTRY_CONTRACT)
    assert set(CLUSTER_KEYS) == set(CLUSTER_CONTRACT)


def test_every_output_key_is_documented() -> None:
    doc = (REPO / "docs" / "outputs.md").read_text()
    for key in (*OUTPUT_KEYS, *KUBECONFIG_KEYS, *ACCESS_ENTRY_KEYS, *CLUSTER_KEYS):
        assert f"`{key}`" in doc, key
    assert f"`outputsVersion` is `{OUTPUTS_VERSION}`" in doc


def assert_shape(outputs: dict[str, Any]) -> None:
    assert set(outputs) == set(CONTRACT)
    for key, typ in CONTRACT.items():
        assert type(outputs[key]) is typ, (key, outputs[key])
    assert outputs["outputsVersion"] == OUTPUTS_VERSION
    for key in ("ciRoleArns", "groupNames", "namespaces"):
        assert all(type(k) is str and type(v) is str for k, v in outputs[key].items()), key
    for key in PER_PROJECT_AND_LEVEL:
        for project, levels in outputs[key].items():
            assert type(project) is str and type(levels) is dict and levels, (key, project)
            assert all(type(level) is str for level in levels), (key, project)
    for key in ("roleArns", "kubernetesGroups"):
        assert all(type(v) is str for levels in outputs[key].values() for v in levels.values()), key
    role_arns = [arn for levels in outputs["roleArns"].values() for arn in levels.values()]
    for role_arn in [*role_arns, *outputs["ciRoleArns"].values()]:
        assert ROLE_ARN.match(role_arn), role_arn
    assert set(outputs["cluster"]) == set(CLUSTER_CONTRACT)
    for key, typ in CLUSTER_CONTRACT.items():
        assert type(outputs["cluster"][key]) is typ, (key, outputs["cluster"])
    for entry in outputs["accessEntries"].values():
        assert set(entry) == set(ACCESS_ENTRY_CONTRACT)
        for key, typ in ACCESS_ENTRY_CONTRACT.items():
            assert type(entry[key]) is typ, (key, entry)
        assert all(type(g) is str for g in entry["kubernetesGroups"])
    for data in (d for levels in outputs["kubeconfigs"].values() for d in levels.values()):
        assert set(data) == set(KUBECONFIG_CONTRACT)
        for key, typ in KUBECONFIG_CONTRACT.items():
            assert type(data[key]) is typ, (key, data)
    # kubeconfigs, roleArns and kubernetesGroups describe the same human roles, keyed the same way.
    shapes = [{(p, lv) for p, levels in outputs[key].items() for lv in levels} for key in PER_PROJECT_AND_LEVEL]
    assert shapes[0] == shapes[1] == shapes[2]


def walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in walk(v, f"{path}.{k}")] + [(path, value)]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in walk(v, f"{path}[{i}]")] + [(path, value)]
    return [(path, value)]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_honours_the_contract(stack: str) -> None:
    outputs = outputs_of(REPO, stack)
    assert_shape(outputs)
    # The engine drops None outputs; a None would make require_output fail for consumers.
    assert [path for path, value in walk(outputs) if value is None] == []
    # No credentials: kubeconfig data authenticates with `aws eks get-token`, never a stored token.
    keys = [path.rsplit(".", 1)[-1].lower() for path, _ in walk(outputs)]
    assert not [k for k in keys if "token" in k or "secret" in k or "password" in k]


def test_dev_values(dev: dict[str, Any]) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role"
    assert dev["environment"] == "dev"
    assert dev["accountId"] == ACCOUNT
    assert dev["clusterName"] == "eks-dev"
    assert dev["authMode"] == "config_map"
    assert dev["outputsVersion"] == 2
    assert dev["cluster"] == {
        "name": "eks-dev",
        "endpoint": FAKE_ENDPOINT,
        "certificateAuthorityData": FAKE_CA,
        "region": "eu-west-1",
    }
    assert dev["roleArns"] == {
        "projecta": {"operate": f"{role}/projecta-dev-humans"},
        "projectb": {"operate": f"{role}/projectb-dev-humans"},
    }
    assert dev["adminRoleArn"] == f"{role}/dev-cluster-admins"
    assert dev["monitoringRoleArn"] == f"{role}/dev-monitoring"
    assert dev["ciRoleArns"] == {"jenkins": f"{role}/jenkins-dev-deployer"}
    assert dev["groupNames"] == {
        "payments": "eks-access-payments",
        "platform": "eks-access-platform",
        "search": "eks-access-search",
    }
    assert dev["namespaces"] == {"projecta": "projecta-dev", "projectb": "projectb-dev"}
    assert dev["kubernetesGroups"] == {"projecta": {"operate": "projecta:dev"}, "projectb": {"operate": "projectb:dev"}}
    assert dev["accessEntries"] == {}  # config_map mode: aws-auth only
    assert dev["kubeconfigs"]["projecta"]["operate"] == {
        "clusterName": "eks-dev",
        "endpoint": FAKE_ENDPOINT,
        "certificateAuthorityData": FAKE_CA,
        "region": "eu-west-1",
        "roleArn": f"{role}/projecta-dev-humans",
        "namespace": "projecta-dev",
        "sessionNameIsUserName": True,
    }


def test_map_roles_is_the_rendered_aws_auth_with_node_roles_first(dev: dict[str, Any]) -> None:
    assert dev["mapRoles"].startswith(
        "- rolearn: 'arn:aws:iam::111122223333:role/eks-dev-nodes'\n"
        "  username: 'system:node:{{EC2PrivateDNSName}}'\n"
        "  groups:\n"
        "    - 'system:bootstrappers'\n"
        "    - 'system:nodes'\n"
    )
    assert (
        "- rolearn: 'arn:aws:iam::111122223333:role/projecta-dev-humans'\n"
        "  username: 'projecta:dev:{{SessionName}}'\n"
        "  groups:\n"
        "    - 'projecta:dev'\n"
    ) in dev["mapRoles"]


def test_api_mode_publishes_access_entries_and_no_map_roles() -> None:
    prod = outputs_of(REPO, "prod")
    assert prod["authMode"] == "api"
    assert prod["mapRoles"] == ""
    assert prod["accessEntries"]["human/projecta/view"] == {
        "principalArn": f"arn:aws:iam::{ACCOUNT}:role/projecta-prod-humans",
        "type": "STANDARD",
        "username": "projecta:prod:{{SessionName}}",
        "kubernetesGroups": ["projecta:prod"],
    }
    assert prod["accessEntries"]["node/eks-prod-windows-nodes"] == {
        "principalArn": f"arn:aws:iam::{ACCOUNT}:role/eks-prod-windows-nodes",
        "type": "EC2_WINDOWS",
        "username": "",
        "kubernetesGroups": [],
    }
    assert prod["accessEntries"]["break-glass"]["principalArn"] == f"arn:aws:iam::{ACCOUNT}:role/eks-prod-break-glass"


def test_absent_admin_and_monitoring_roles_are_empty_strings_not_missing(tree: ConfigTree) -> None:
    def break_glass_only(data: dict[str, Any]) -> None:
        del data["cluster_admins"]
        del data["monitoring"]

    tree.edit("access.yaml", break_glass_only)
    tree.edit(
        "environments.yaml",
        lambda d: d["clusters"]["dev"].update(break_glass_role="arn:aws:iam::111122223333:role/eks-dev-break-glass"),
    )
    outputs = outputs_of(tree.project(), "dev")
    assert_shape(outputs)
    assert outputs["adminRoleArn"] == ""
    assert outputs["monitoringRoleArn"] == ""
    assert "platform" not in outputs["groupNames"]


def test_a_second_level_adds_a_key_and_renames_none(tree: ConfigTree) -> None:
    def split(data: dict[str, Any]) -> None:
        data["naming"]["role"] = "{project}-{env}-{level}"
        data["naming"]["kubernetes_group"] = "{project}:{env}:{level}"
        data["roles"]["session_name_condition"] = False

    tree.edit("settings.yaml", split)
    one_level = outputs_of(tree.project(), "dev")
    tree.edit("access.yaml", lambda d: d["grants"]["search"].update(projecta={"dev": "view"}))
    outputs = outputs_of(tree.project(), "dev")
    assert_shape(outputs)
    role = f"arn:aws:iam::{ACCOUNT}:role"
    assert outputs["roleArns"] == {
        "projecta": {"operate": f"{role}/projecta-dev-operate", "view": f"{role}/projecta-dev-view"},
        "projectb": {"operate": f"{role}/projectb-dev-operate"},
    }
    assert outputs["kubernetesGroups"]["projecta"]["view"] == "projecta:dev:view"
    assert outputs["kubeconfigs"]["projecta"]["view"]["namespace"] == "projecta-dev"
    # Without the session-name condition, any session name works.
    assert outputs["kubeconfigs"]["projecta"]["view"]["sessionNameIsUserName"] is False
    # Growing the config only added keys: every path a consumer read before is still there, with its value.
    for key in PER_PROJECT_AND_LEVEL:
        for project, levels in one_level[key].items():
            assert {lv: outputs[key][project][lv] for lv in levels} == levels, (key, project)


def test_plan_json_keys_are_documented() -> None:
    """docs/plan-json.md names every key of `python -m access plan --format json` (which embeds these outputs)."""
    from access.commands.plan.document import plan_document
    from access.core.loading import load_stack

    document = plan_document(load_stack(REPO, "prod"), {}, {})
    doc = (REPO / "docs" / "plan-json.md").read_text()
    keys = set(document) | set(document["roles"][0]) | set(document["access"][0]) | set(document["accessEntries"][0])
    keys |= set(document["groupPolicies"][0])
    assert sorted(k for k in keys if f"`{k}`" not in doc) == []
