"""The destructive-change guard on ``pulumi preview --json`` output (access/preview_guard.py).

The documents follow the engine's JSON display (pkg/display/json.go ``PreviewDigest``/``PreviewStep``):
``steps[]`` with ``op``, ``urn``, ``oldState``/``newState`` (apitype.ResourceV3: ``type``, ``inputs``,
``outputs``, ``external``, ``retainOnDelete``), ``replaceReasons``; a replacement appears as
``create-replacement``, ``replace`` and ``delete-replaced`` steps of one URN.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from access.commands.cli import main as cli_main
from access.commands.preview_guard.steps import (
    ACCESS_ENTRY,
    CONFIG_MAP,
    CONFIG_MAP_PATCH,
    NAMESPACE_PATCH,
    POLICY_ASSOCIATION,
    ROLE,
    UNKNOWN,
    Destructive,
    destructive_steps,
)
from access.errors import PreviewError
from tests.helpers import REPO


def main(argv: list[str]) -> int:
    return cli_main(["preview-guard", *argv])


PREFIX = "urn:pulumi:dev::eks-access::"
ROLE_URN = f"{PREFIX}eks-access:iam:EnvironmentIam$aws:iam/role:Role::dev-projecta-dev-humans"
PATCH_URN = f"{PREFIX}eks-access:cluster:ClusterAccess$kubernetes:core/v1:ConfigMapPatch::dev-aws-auth"
LIVE_URN = f"{PREFIX}eks-access:cluster:ClusterAccess$kubernetes:core/v1:ConfigMap::dev-aws-auth-live"
BINDING_URN = f"{PREFIX}eks-access:cluster:ClusterAccess$kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::dev-x"
AWS_AUTH_META = {"name": "aws-auth", "namespace": "kube-system"}


def state(urn: str, typ: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"urn": urn, "custom": True, "type": typ, "inputs": inputs, "outputs": inputs, **extra}


def role_state(name: str = "projecta-dev-humans") -> dict[str, Any]:
    return state(ROLE_URN, ROLE, {"name": name, "path": "/"})


def step(op: str, urn: str, old: dict[str, Any] | None = None, new: dict[str, Any] | None = None, **extra: Any) -> dict:
    out: dict[str, Any] = {"op": op, "urn": urn, "provider": "urn:...::default", "detailedDiff": None, **extra}
    if old is not None:
        out["oldState"] = old
    if new is not None:
        out["newState"] = new
    return out


def preview(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"config": {"aws:region": "eu-west-1"}, "steps": list(steps), "changeSummary": {}, "duration": 1}


def test_updates_and_creates_pass() -> None:
    doc = preview(
        step("same", ROLE_URN, role_state(), role_state()),
        step("update", ROLE_URN, role_state(), role_state(), diffReasons=["assumeRolePolicy"]),
        step("create", PATCH_URN, None, state(PATCH_URN, CONFIG_MAP_PATCH, {"metadata": AWS_AUTH_META})),
    )
    assert destructive_steps(doc) == []
    assert destructive_steps({"changeSummary": {"same": 12}}) == []  # no changes: the engine omits steps


def test_a_replacement_is_reported_once_with_its_reasons() -> None:
    old, new = role_state("projecta-dev-humans"), role_state("projecta-dev-people")
    doc = preview(
        step("create-replacement", ROLE_URN, old, new, replaceReasons=["name"]),
        step("replace", ROLE_URN, old, new, replaceReasons=["name"]),
        step("delete-replaced", ROLE_URN, old, new),
    )
    assert destructive_steps(doc) == [
        Destructive("replace", ROLE, "projecta-dev-humans -> projecta-dev-people", ROLE_URN, ("name",), retained=False)
    ]
    assert destructive_steps(doc)[0].describe() == (
        "replace IAM role projecta-dev-humans -> projecta-dev-people (replaced because name changes)"
    )


def test_deleting_a_role_or_the_aws_auth_patch_is_reported() -> None:
    patch = state(PATCH_URN, CONFIG_MAP_PATCH, {"metadata": AWS_AUTH_META, "data": {}}, retainOnDelete=True)
    found = destructive_steps(preview(step("delete", ROLE_URN, role_state()), step("delete", PATCH_URN, patch)))
    assert [d.describe() for d in found] == [
        "delete IAM role projecta-dev-humans",
        "delete aws-auth patch kube-system/aws-auth (retainOnDelete: the object stays in the cluster, unmanaged)",
    ]


def test_reads_other_config_maps_and_other_types_are_ignored() -> None:
    live = state(LIVE_URN, CONFIG_MAP, {"metadata": AWS_AUTH_META}, external=True)
    other = state(
        f"{PREFIX}kubernetes:core/v1:ConfigMapPatch::coredns",
        CONFIG_MAP_PATCH,
        {"metadata": {"name": "coredns", "namespace": "kube-system"}},
    )
    doc = preview(
        step("discard", LIVE_URN, live),
        step("delete", LIVE_URN, live),
        step("delete", other["urn"], other),
        step("delete", BINDING_URN, state(BINDING_URN, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", {})),
    )
    assert destructive_steps(doc) == []


def test_owning_aws_auth_as_a_config_map_and_deleting_it_is_reported() -> None:
    urn = f"{PREFIX}kubernetes:core/v1:ConfigMap::aws-auth"
    found = destructive_steps(preview(step("delete", urn, state(urn, CONFIG_MAP, {"metadata": AWS_AUTH_META}))))
    assert [d.describe() for d in found] == ["delete aws-auth kube-system/aws-auth"]


def test_the_type_comes_from_the_urn_when_states_are_missing() -> None:
    found = destructive_steps(preview(step("delete", ROLE_URN), step("delete", PATCH_URN)))
    assert [(d.type, d.name) for d in found] == [
        (ROLE, "dev-projecta-dev-humans"),
        (CONFIG_MAP_PATCH, "kube-system/aws-auth"),
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "not a `pulumi preview --json` document (expected a JSON object)"),
        ({"steps": {}}, "`steps` is not a list; is this `pulumi preview --json` output?"),
        ({"steps": [{"op": "delete"}]}, "a step without `op` and `urn`; is this `pulumi preview --json` output?"),
    ],
)
def test_documents_that_are_not_previews_are_refused(document: Any, message: str) -> None:
    with pytest.raises(PreviewError) as error:
        destructive_steps(document)
    assert str(error.value) == message


def write(tmp_path: Path, doc: Any) -> str:
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(doc, indent=4))
    return str(path)


def test_cli_exit_codes_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, preview(step("delete", ROLE_URN, role_state())))
    assert main([bad, "--stack", "dev"]) == 1
    assert capsys.readouterr().out == (
        "stack `dev`: 1 destructive change(s) refused (label the PR allow-destructive-access-change if intended)\n"
        f"  delete IAM role projecta-dev-humans  [{ROLE_URN}]\n"
    )
    assert main([bad, "--stack", "dev", "--allow", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == (
        "#### Destructive-change guard: stack `dev`\n\n"
        "Allowed by the `allow-destructive-access-change` label.\n\n"
        "| change | resource |\n| --- | --- |\n"
        f"| `delete IAM role projecta-dev-humans` | `{ROLE_URN}` |\n"
    )
    fine = write(tmp_path, preview(step("update", ROLE_URN, role_state(), role_state())))
    assert main([fine, "--format", "markdown"]) == 0
    assert "Nothing that access depends on is deleted or replaced." in capsys.readouterr().out


def test_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert main([str(empty)]) == 2
    assert capsys.readouterr().err == f"error: {empty}: empty input: did `pulumi preview --json` fail?\n"
    assert main([str(tmp_path / "missing.json")]) == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_runs_as_a_module_reading_stdin() -> None:
    doc = json.dumps(preview(step("replace", ROLE_URN, role_state(), role_state(), replaceReasons=["path"])))
    result = subprocess.run(
        [sys.executable, "-m", "access", "preview-guard", "-", "--stack", "prod"],
        input=doc,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "replace IAM role projecta-dev-humans (replaced because path changes)" in result.stdout


ENTRY_URN = f"{PREFIX}eks-access:cluster:ClusterAccess$aws:eks/accessEntry:AccessEntry::prod-node-eks-prod-nodes"
ASSOC_URN = f"{PREFIX}eks-access:cluster:ClusterAccess$aws:eks/accessPolicyAssociation:AccessPolicyAssociation::bg"
NS_URN = f"{PREFIX}eks-access:cluster:ClusterAccess$kubernetes:core/v1:NamespacePatch::dev-projecta"
NODES = "arn:aws:iam::111122223333:role/eks-dev-nodes"
PEOPLE = "arn:aws:iam::111122223333:role/projecta-dev-humans"


def map_roles(*entries: tuple[str, str, list[str]]) -> str:
    return "".join(
        f"- rolearn: {arn}\n  username: {user}\n  groups:\n" + "".join(f"    - {g}\n" for g in groups)
        for arn, user, groups in entries
    )


def aws_auth(text: str) -> dict[str, Any]:
    return state(PATCH_URN, CONFIG_MAP_PATCH, {"metadata": AWS_AUTH_META, "data": {"mapRoles": text}})


NODE_ENTRY = (NODES, "system:node:{{EC2PrivateDNSName}}", ["system:bootstrappers", "system:nodes"])
HUMAN_ENTRY = (PEOPLE, "projecta:dev:{{SessionName}}", ["projecta:dev"])


@pytest.mark.parametrize(
    ("typ", "urn", "inputs", "name"),
    [
        (ACCESS_ENTRY, ENTRY_URN, {"principalArn": NODES, "type": "EC2_LINUX"}, NODES),
        (
            POLICY_ASSOCIATION,
            ASSOC_URN,
            {"principalArn": PEOPLE, "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"},
            f"{PEOPLE} -> AmazonEKSClusterAdminPolicy",
        ),
        (NAMESPACE_PATCH, NS_URN, {"metadata": {"name": "projecta-dev"}}, "projecta-dev"),
    ],
)
def test_access_entries_associations_and_namespaces_are_guarded(
    typ: str, urn: str, inputs: dict[str, Any], name: str
) -> None:
    for op, action in (("delete", "delete"), ("replace", "replace")):
        (found,) = destructive_steps(preview(step(op, urn, state(urn, typ, inputs), state(urn, typ, inputs))))
        assert (found.action, found.type, found.name) == (action, typ, name)
    assert destructive_steps(preview(step("update", urn, state(urn, typ, inputs), state(urn, typ, inputs)))) == []


def test_an_update_that_drops_a_node_mapping_is_refused() -> None:
    old = aws_auth(map_roles(NODE_ENTRY, HUMAN_ENTRY))
    # A human mapping removed is an ordinary access change (the diff shows it); a node mapping removed cuts nodes off.
    assert destructive_steps(preview(step("update", PATCH_URN, old, aws_auth(map_roles(NODE_ENTRY))))) == []
    (found,) = destructive_steps(preview(step("update", PATCH_URN, old, aws_auth(map_roles(HUMAN_ENTRY)))))
    assert found.describe() == (
        f"update aws-auth patch kube-system/aws-auth: node role mapping removed from mapRoles: {NODES}"
    )
    # The authenticator compares ARNs lower-cased and without the role path: a re-cased ARN is the same mapping.
    recased = (NODES.replace("eks-dev-nodes", "EKS-dev-nodes"), *NODE_ENTRY[1:])
    assert destructive_steps(preview(step("update", PATCH_URN, old, aws_auth(map_roles(recased))))) == []
    # A node entry that loses system:nodes drops the node mapping too.
    demoted = (NODES, "system:node:{{EC2PrivateDNSName}}", ["system:bootstrappers"])
    assert destructive_steps(preview(step("update", PATCH_URN, old, aws_auth(map_roles(demoted)))))[0].reasons == (
        NODES,
    )
    # ... and so does one whose username is no longer a node's (the Node authorizer admits only system:node:<name>).
    renamed = (NODES, "ops", NODE_ENTRY[2])
    assert destructive_steps(preview(step("update", PATCH_URN, old, aws_auth(map_roles(renamed)))))[0].reasons == (
        NODES,
    )
    # A live entry only its system:node: username marks as a node (no system:nodes group) is still a node mapping:
    # one definition of a node entry, the merge's (awsauth.is_node_entry).
    bootstrap_only = aws_auth(map_roles((NODES, "system:node:{{EC2PrivateDNSName}}", ["system:bootstrappers"])))
    (found,) = destructive_steps(preview(step("update", PATCH_URN, bootstrap_only, aws_auth(map_roles(HUMAN_ENTRY)))))
    assert found.reasons == (NODES,)


def test_an_unknown_or_unreadable_new_map_fails_closed() -> None:
    old = aws_auth(map_roles(NODE_ENTRY))
    for after in (UNKNOWN, "rolearn: [broken"):
        (found,) = destructive_steps(preview(step("update", PATCH_URN, old, aws_auth(after))))
        assert found.action == "drop" and found.reasons == (NODES,)
