"""No config and no sequence of applies locks out a node or an admin (issue 12, items 1, 3, 4, 6).

The aws-auth merge is tested for every way a node mapping used to disappear; the admin path is counted in people;
the rendered map is read back as YAML 1.1 would read it; the patch's force decision comes from managedFields.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from access.core import awsauth
from access.core.model import AuthMode, NodeRole, NodeType, Organisation
from access.core.plan.auth import node_map_entry
from access.core.plan.environment import plan_environment
from access.core.plan.types import EnvironmentPlan, MapEntry
from access.errors import AwsAuthError, ConfigError
from tests.helpers import A, ConfigTree

OWNER = "eks-access/dev"
NODES = f"{A}:role/eks-dev-nodes"
FARGATE = f"{A}:role/eks-dev-fargate-pods"
OLD_NODES = f"{A}:role/eks-dev-old-nodes"
WINDOWS = f"{A}:role/eks-dev-windows"
HINTS = {
    "keep_hint": "clusters.dev.keep_map_roles in config/environments.yaml",
    "retire_hint": "clusters.dev.retired_node_roles in config/environments.yaml",
}


def dev(org: Organisation) -> EnvironmentPlan:
    return plan_environment(org, "dev", AuthMode.CONFIG_MAP)


def live(*entries: MapEntry, wrote: tuple[MapEntry, ...] = ()) -> tuple[dict[str, str], dict[str, str]]:
    """A live aws-auth holding ``entries``; ``wrote`` are those this stack's annotation says it wrote."""
    managed = sorted(awsauth.authenticator_key(e.arn) for e in wrote)
    annotations = {awsauth.OWNER_ANNOTATION: OWNER, awsauth.MANAGED_ANNOTATION: json.dumps(managed)} if wrote else {}
    return {"mapRoles": awsauth.render(entries)}, annotations


def merge(plan: EnvironmentPlan, data: Any, annotations: Any, keep: tuple[str, ...] = (), **kw: Any) -> Any:
    return awsauth.merge(
        plan.map_roles,
        plan.map_users,
        data,
        annotations,
        OWNER,
        keep,
        HINTS["keep_hint"],
        **{
            "retire_hint": HINTS["retire_hint"],
            **kw,
        },
    )


def lost_line(*arns: str) -> str:
    return (
        f"live aws-auth mapRoles maps nodes through roles config no longer maps as nodes: {', '.join(arns)}; nodes "
        "still running with them would leave the cluster: list them again in the cluster's node_roles, or under "
        f"{HINTS['retire_hint']} to remove their mapping"
    )


OLD_EC2 = node_map_entry(NodeRole(OLD_NODES, NodeType.EC2))
OLD_WINDOWS = node_map_entry(NodeRole(WINDOWS, NodeType.WINDOWS))
OLD_FARGATE = node_map_entry(NodeRole(f"{A}:role/eks-dev-old-pods", NodeType.FARGATE))


# --- item 1: a node mapping goes only by an explicit decision -----------------------------------------------------


@pytest.mark.parametrize("gone", [OLD_EC2, OLD_WINDOWS, OLD_FARGATE], ids=["ec2", "windows", "fargate"])
def test_a_node_role_removed_from_node_roles_keeps_its_mapping_until_retired(
    sample_org: Organisation, gone: MapEntry
) -> None:
    """Before: the annotation said this stack wrote it, so the merge took the removal for the reviewed change."""
    plan = dev(sample_org)
    data, annotations = live(*plan.map_roles, gone, wrote=(*plan.map_roles, gone))
    with pytest.raises(AwsAuthError) as refusal:
        merge(plan, data, annotations)
    assert str(refusal.value) == lost_line(gone.arn)
    merged = merge(plan, data, annotations, retire=(gone.arn,))
    assert merged.map_roles == awsauth.render(plan.map_roles)
    assert merged.retired == (gone.arn,)
    assert gone.arn.lower() not in merged.annotations[awsauth.MANAGED_ANNOTATION]


def test_a_node_role_removed_from_keep_map_roles_keeps_its_mapping_until_retired(sample_org: Organisation) -> None:
    plan = dev(sample_org)
    eks_added = MapEntry(f"{A}:role/eks-dev-ng-2", "system:node:{{EC2PrivateDNSName}}", ("system:nodes",), "live")
    kept = merge(plan, *live(eks_added), keep=(eks_added.arn,))  # first apply: kept, and recorded as written
    previously = {
        awsauth.OWNER_ANNOTATION: OWNER,
        awsauth.MANAGED_ANNOTATION: kept.annotations[awsauth.MANAGED_ANNOTATION],
    }
    with pytest.raises(AwsAuthError) as refusal:  # second apply: keep_map_roles no longer lists it
        merge(plan, {"mapRoles": kept.map_roles}, previously)
    assert str(refusal.value) == lost_line(eks_added.arn)
    assert merge(plan, {"mapRoles": kept.map_roles}, previously, retire=(eks_added.arn,)).retired == (eks_added.arn,)


def test_an_entry_in_the_node_groups_counts_as_a_node_entry_whatever_its_username(sample_org: Organisation) -> None:
    plan = dev(sample_org)
    bootstrapper = MapEntry(f"{A}:role/custom-nodes", "custom", ("system:bootstrappers",), "live")
    with pytest.raises(AwsAuthError) as refusal:
        merge(plan, *live(bootstrapper, wrote=(bootstrapper,)))
    assert str(refusal.value) == lost_line(bootstrapper.arn)


def test_a_node_entry_eks_added_is_refused_as_unknown_and_goes_only_when_retired(sample_org: Organisation) -> None:
    plan = dev(sample_org)
    data, annotations = live(*[e for e in plan.map_roles if e.source == "node"], OLD_EC2)
    with pytest.raises(AwsAuthError) as refusal:
        merge(plan, data, annotations)
    assert str(refusal.value).startswith(
        f"live aws-auth mapRoles has entries eks-access did not write and config does not list: {OLD_NODES};"
    )
    merged = merge(plan, data, annotations, retire=(f"{A}:role/some/path/EKS-DEV-OLD-NODES",))
    assert merged.retired == (OLD_NODES,)  # compared as the authenticator compares: no path, any case
    assert merged.map_roles == awsauth.render(plan.map_roles)


def test_a_live_node_entry_is_never_turned_into_a_person(sample_org: Organisation) -> None:
    plan = dev(sample_org)
    human = next(e for e in plan.map_roles if e.source == "human")
    hijacked = MapEntry(human.arn, "system:node:{{EC2PrivateDNSName}}", ("system:nodes",), "live")
    with pytest.raises(AwsAuthError) as refusal:
        merge(plan, *live(hijacked))
    assert str(refusal.value) == lost_line(human.arn)


def test_a_person_entry_this_stack_wrote_may_still_go(sample_org: Organisation) -> None:
    plan = dev(sample_org)
    gone = MapEntry(f"{A}:role/oldproject-dev-humans", "oldproject:dev:{{SessionName}}", ("oldproject:dev",), "human")
    assert merge(plan, *live(*plan.map_roles, gone, wrote=(gone,))).map_roles == awsauth.render(plan.map_roles)


def test_retiring_a_role_that_is_not_live_changes_nothing(sample_org: Organisation) -> None:
    plan = dev(sample_org)
    nodes = [e for e in plan.map_roles if e.source == "node"]
    assert merge(plan, *live(*nodes), retire=(OLD_NODES,)) == merge(plan, *live(*nodes))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            {"retired_node_roles": [NODES]},
            f"config/environments.yaml: clusters.dev.retired_node_roles[0]: '{NODES}' is also in node_roles "
            f"('{NODES}'); a role is mapped or retired: remove it from one",
        ),
        (
            {"keep_map_roles": [f"{A}:role/ng"], "retired_node_roles": [f"{A}:role/nodegroups/NG"]},
            f"config/environments.yaml: clusters.dev.retired_node_roles[0]: '{A}:role/nodegroups/NG' is also in "
            f"keep_map_roles ('{A}:role/ng'); a role is mapped or retired: remove it from one",
        ),
        (
            {"retired_node_roles": [OLD_NODES, f"{A}:role/x/EKS-DEV-OLD-NODES"]},
            f"config/environments.yaml: clusters.dev.retired_node_roles[1]: '{A}:role/x/EKS-DEV-OLD-NODES' is listed "
            f"twice in retired_node_roles (also '{OLD_NODES}')",
        ),
        (
            {"retired_node_roles": [f"{A}:user/old"]},
            f"config/environments.yaml: clusters.dev.retired_node_roles[0]: '{A}:user/old' is a user ARN; expected a "
            "role ARN",
        ),
    ],
    ids=["also-mapped", "also-kept", "twice", "not-a-role"],
)
def test_a_retirement_is_one_unambiguous_decision(tree: ConfigTree, edit: dict[str, Any], expected: str) -> None:
    tree.edit("environments.yaml", lambda d: d["clusters"]["dev"].update(edit))
    with pytest.raises(ConfigError) as refusal:
        tree.load()
    assert str(refusal.value) == expected


def test_the_plan_carries_the_retirements_and_the_real_file_names(tree: ConfigTree) -> None:
    tree.edit("environments.yaml", lambda d: d["clusters"]["dev"].update(retired_node_roles=[OLD_NODES]))
    plan = plan_environment(tree.load(), "dev", AuthMode.CONFIG_MAP)
    assert (plan.retired_node_roles, plan.environments_file, plan.access_file) == (
        (OLD_NODES,),
        "config/environments.yaml",
        "config/access.yaml",
    )


# --- item 4: an admin path counted in people ------------------------------------------------------------------------


def without_admin_members(tree: ConfigTree) -> None:
    tree.edit("teams.yaml", lambda d: d["teams"]["platform"].update(members=[]))


def test_an_admin_team_without_members_is_no_admin_path(tree: ConfigTree) -> None:
    without_admin_members(tree)
    org = tree.load()
    with pytest.raises(ConfigError) as refusal:
        plan_environment(org, "dev", AuthMode.CONFIG_MAP)
    assert str(refusal.value) == (
        "config/access.yaml: cluster_admins.teams: cluster 'eks-dev' would have no admin path: admin team(s) platform "
        "have no members in config/teams.yaml; add a member, set a break_glass_role, or say who administers it "
        "under clusters.dev.external_admins in config/environments.yaml"
    )
    # Per cluster: prod has a break-glass role, so its stack plans.
    assert plan_environment(org, "prod", AuthMode.API).cluster_name == "eks-prod"


def test_an_admin_path_outside_eks_access_is_an_explicit_acknowledgement(tree: ConfigTree) -> None:
    without_admin_members(tree)
    tree.edit("environments.yaml", lambda d: d["clusters"]["dev"].update(external_admins="SSO set EKSAdmins"))
    org = tree.load()
    assert org.clusters["dev"].external_admins == "SSO set EKSAdmins"
    assert plan_environment(org, "dev", AuthMode.CONFIG_MAP).cluster_name == "eks-dev"


def test_the_admin_message_names_the_config_directory_given(tmp_path: Any) -> None:
    tree = ConfigTree(tmp_path)
    without_admin_members(tree)
    from access.core.config import load

    with pytest.raises(ConfigError) as refusal:
        plan_environment(load(tree.dir, label="elsewhere/cfg"), "dev", AuthMode.CONFIG_MAP)
    assert str(refusal.value).startswith("elsewhere/cfg/access.yaml: cluster_admins.teams: ")
    assert "members in elsewhere/cfg/teams.yaml" in str(refusal.value)
    assert str(refusal.value).endswith("under clusters.dev.external_admins in elsewhere/cfg/environments.yaml")


def test_unknown_environment_names_the_config_directory_given(tmp_path: Any) -> None:
    from access.core.config import load

    tree = ConfigTree(tmp_path)
    with pytest.raises(ConfigError) as refusal:
        plan_environment(load(tree.dir, label="other"), "qa", AuthMode.CONFIG_MAP, "qa")
    assert str(refusal.value) == (
        "Pulumi.qa.yaml: config.access:environment: unknown environment 'qa'; other/environments.yaml has dev, "
        "prod, staging"
    )


# --- item 6: every value quoted, read back as YAML 1.1 reads it -----------------------------------------------------

YAML_11_NOT_STRINGS = ["yes", "no", "on", "off", "y", "n", "~", "null", "true", "0o17", "017", "0x1F", "1e3",
                       "1_000", ".inf", "-.nan", "2001-12-14", "190:20:30", "=", "<<", "-", "!tag", "&anchor",
                       "*alias", "# not a comment", "a: b", "'", '"', " padded ", "111122223333"]  # fmt: skip


def scalar_styles(text: str) -> list[tuple[str, str | None]]:
    """Each value scalar of the rendered list with its style (keys are plain: rolearn/username/groups)."""
    out: list[tuple[str, str | None]] = []
    document = yaml.compose(text)
    assert document is not None
    for item in document.value:
        for key, value in item.value:
            for scalar in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                out.append((f"{key.value}={scalar.value}", scalar.style))
    return out


@given(
    username=st.sampled_from(YAML_11_NOT_STRINGS) | st.text(min_size=1, max_size=12),
    groups=st.lists(st.sampled_from(YAML_11_NOT_STRINGS) | st.text(min_size=1, max_size=12), max_size=3),
)
def test_every_value_is_a_quoted_scalar_and_reads_back_exactly(username: str, groups: list[str]) -> None:
    entries = [
        node_map_entry(NodeRole(NODES, NodeType.EC2)),
        MapEntry(f"{A}:role/people", username, tuple(groups), "human"),
    ]
    text = awsauth.render(entries)
    # A quoted scalar is a string in YAML 1.1 and 1.2 alike: go-yaml cannot read it as a bool, a number or null.
    assert all(style in ("'", '"') for _, style in scalar_styles(text)), scalar_styles(text)
    assert [(e.arn, e.username, e.groups) for e in awsauth.parse(text)] == [
        (e.arn, e.username, e.groups) for e in entries
    ]


def test_tricky_scalars_are_quoted_in_the_text() -> None:
    text = awsauth.render([MapEntry(f"{A}:role/x", "yes", ("on", "0o17", "1e3"), "human")])
    assert text == f"- rolearn: '{A}:role/x'\n  username: 'yes'\n  groups:\n    - 'on'\n    - '0o17'\n    - '1e3'\n"


# --- item 3: the patch is forced only when someone else owns what it writes ----------------------------------------


def fields(manager: str, *keys: str, operation: str = "Apply") -> dict[str, Any]:
    return {"manager": manager, "operation": operation, "fieldsV1": {"f:data": {f"f:{k}": {} for k in keys}}}


@pytest.mark.parametrize(
    ("managed", "force"),
    [
        (None, True),  # nothing to tell (and the provider forces objects without managedFields anyway)
        ([], True),
        ([fields("eks-access", "mapRoles")], False),  # only this stack wrote mapRoles: a concurrent write conflicts
        ([fields("eks-access", "mapRoles"), fields("eks", "mapAccounts", operation="Update")], False),
        ([fields("eks-access", "mapRoles"), fields("eks", "mapRoles", operation="Update")], True),  # EKS wrote since
        ([fields("pulumi-kubernetes-3fa9c1", "mapRoles")], True),  # the random manager of an older eks-access
        ([fields("kubectl-edit", "mapUsers", operation="Update"), fields("eks-access", "mapRoles")], True),
        ([{"manager": "eks", "fieldsV1": {"f:metadata": {"f:labels": {}}}}], False),
    ],
)
def test_patch_force_follows_who_owns_the_data_keys(managed: list[dict[str, Any]] | None, force: bool) -> None:
    assert awsauth.patch_must_force(managed, "eks-access", ["mapRoles", "mapUsers"]) is force
