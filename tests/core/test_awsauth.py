"""aws-auth mapRoles/mapUsers: rendered safely, read back as the authenticator reads it, merged without loss.

The authenticator's reading is re-implemented here independently of access.core.awsauth (YAML -> JSON ->
Go-style struct decoding with case-insensitive keys, entries keyed by the lower-cased ARN, last one
wins), so a renderer bug cannot hide behind the same parser.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from access.core import awsauth
from access.core.awsauth import MergedAwsAuth
from access.core.model import AuthMode, NodeRole, NodeType, Organisation
from access.core.plan.auth import check_unique_arns, node_map_entry
from access.core.plan.environment import plan_environment
from access.core.plan.types import MapEntry
from access.errors import AwsAuthError, ConfigError
from tests.golden import STACKS, check_golden, stack_plan, to_yaml
from tests.helpers import ConfigTree

ACCOUNT = "111122223333"
OWNER = "eks-access/dev"
NODES = f"arn:aws:iam::{ACCOUNT}:role/eks-dev-nodes"
FARGATE = f"arn:aws:iam::{ACCOUNT}:role/eks-dev-fargate-pods"
STRANGER = f"arn:aws:iam::{ACCOUNT}:role/stranger"
KEEP_HINT = "clusters.dev.keep_map_roles in config/environments.yaml"


def authenticator_read(text: str, arn_key: str = "rolearn") -> dict[str, tuple[str, list[str]]]:
    """What aws-iam-authenticator's ParseMap ends up with: {lower-cased ARN: (username, groups)}."""
    as_json = json.loads(json.dumps(yaml.safe_load(text)))
    mappings: dict[str, tuple[str, list[str]]] = {}
    for item in as_json or []:
        fields = {key.lower(): value for key, value in item.items()}  # encoding/json matches keys ignoring case
        arn, username, groups = fields.get(arn_key), fields.get("username", ""), fields.get("groups") or []
        # A type mismatch is a json.Unmarshal error in Go: the entries would not be what we meant.
        assert isinstance(arn, str) and arn, item
        assert isinstance(username, str), item
        assert isinstance(groups, list) and all(isinstance(g, str) for g in groups), item
        mappings[arn.lower()] = (username, groups)  # RoleMapping.Key(): lower-cased; the last duplicate wins
    return mappings


def expected_mappings(entries: Sequence[MapEntry]) -> dict[str, tuple[str, list[str]]]:
    return {e.arn.lower(): (e.username, list(e.groups)) for e in entries}


def eks_live(*entries: MapEntry, annotations: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    return {"mapRoles": awsauth.render(entries)}, dict(annotations or {})


def dev_plan(org: Organisation) -> Any:
    return plan_environment(org, "dev", AuthMode.CONFIG_MAP)


def merge_dev(org: Organisation, data: dict[str, str] | None, annotations: dict[str, str] | None, **kw: Any) -> Any:
    plan = dev_plan(org)
    return awsauth.merge(plan.map_roles, plan.map_users, data, annotations, OWNER, kw.pop("keep", ()), KEEP_HINT)


# --- golden renders ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_map_roles_per_stack_matches_golden_file(sample_org: Organisation, stack: str) -> None:
    plan = stack_plan(sample_org, stack)
    if not plan.auth_mode.writes_config_map:
        assert plan.map_roles == () and plan.map_users == ()
        return
    check_golden(f"{stack}/mapRoles.yaml", awsauth.render(plan.map_roles))


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "prod"])
def test_aws_auth_patch_per_stack_matches_golden_file(sample_org: Organisation, stack: str) -> None:
    """What the ConfigMapPatch applies on a cluster where EKS wrote only its node roles."""
    plan = stack_plan(sample_org, stack)
    nodes = [e for e in plan.map_roles if e.source == "node"]
    merged = awsauth.merge(plan.map_roles, plan.map_users, *eks_live(*nodes), f"eks-access/{stack}", ())
    check_golden(f"{stack}/aws-auth.yaml", to_yaml(awsauth.configmap_manifest(merged)))


def test_dev_map_roles_exact_text(sample_org: Organisation) -> None:
    """The format itself: lowercase keys, groups always a block list, every value quoted (go-yaml reads aws-auth
    as YAML 1.1, where plain yes/on/0o17/1e3 are not strings)."""
    text = awsauth.render(dev_plan(sample_org).map_roles[:2])
    assert text == (
        f"- rolearn: '{NODES}'\n"
        "  username: 'system:node:{{EC2PrivateDNSName}}'\n"
        "  groups:\n"
        "    - 'system:bootstrappers'\n"
        "    - 'system:nodes'\n"
        f"- rolearn: '{FARGATE}'\n"
        "  username: 'system:node:{{SessionName}}'\n"
        "  groups:\n"
        "    - 'system:bootstrappers'\n"
        "    - 'system:nodes'\n"
        "    - 'system:node-proxier'\n"
    )


# --- the authenticator reads back the plan ----------------------------------------------------------------------


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "prod"])
def test_authenticator_reads_back_exactly_the_plan(sample_org: Organisation, stack: str) -> None:
    plan = stack_plan(sample_org, stack)
    assert authenticator_read(awsauth.render(plan.map_roles)) == expected_mappings(plan.map_roles)
    assert len(plan.map_roles) == len(expected_mappings(plan.map_roles))  # no entry lost to a duplicate key


YAML_TRICKY = st.one_of(
    st.sampled_from(
        [
            "yes",
            "no",
            "on",
            "null",
            "~",
            "true",
            "0123",
            "111122223333",
            "1e3",
            "- a",
            "a: b",
            "#x",
            "{{SessionName}}",
            "'q'",
            '"d"',
            "a #b",
            "*ref",
            "&anchor",
            "!tag",
            "%x",
            "@x",
            "`x",
            "x:",
            " lead",
            "trail ",
            "|",
            ">",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x17F), min_size=1, max_size=20),
)


@given(username=YAML_TRICKY, groups=st.lists(YAML_TRICKY, max_size=4))
def test_any_username_and_groups_survive_the_round_trip(username: str, groups: list[str]) -> None:
    entries = [
        node_map_entry(NodeRole(NODES, NodeType.EC2)),
        MapEntry(f"arn:aws:iam::{ACCOUNT}:role/people", username, tuple(groups), "human"),
    ]
    assert authenticator_read(awsauth.render(entries)) == expected_mappings(entries)


def test_account_id_like_values_stay_strings() -> None:
    entry = MapEntry(f"arn:aws:iam::{ACCOUNT}:role/x", ACCOUNT, ("0123",), "human")
    text = awsauth.render([entry])
    assert f"username: '{ACCOUNT}'" in text and "- '0123'" in text
    assert authenticator_read(text) == expected_mappings([entry])


def test_map_users_use_userarn(sample_org: Organisation) -> None:
    user = MapEntry(f"arn:aws:iam::{ACCOUNT}:user/legacy-ops", "legacy-ops", ("ops:readers",), "user")
    text = awsauth.render([user], "userarn")
    assert text == f"- userarn: '{user.arn}'\n  username: 'legacy-ops'\n  groups:\n    - 'ops:readers'\n"
    assert authenticator_read(text, "userarn") == expected_mappings([user])


# --- node entries, system groups, paths, duplicates ---------------------------------------------------------------


def test_node_entries_for_each_node_type() -> None:
    assert node_map_entry(NodeRole(NODES, NodeType.EC2)) == MapEntry(
        NODES, "system:node:{{EC2PrivateDNSName}}", ("system:bootstrappers", "system:nodes"), "node"
    )
    windows = f"arn:aws:iam::{ACCOUNT}:role/win"
    assert node_map_entry(NodeRole(windows, NodeType.WINDOWS)) == MapEntry(
        windows,
        "system:node:{{EC2PrivateDNSName}}",
        ("system:bootstrappers", "system:nodes", "eks:kube-proxy-windows"),
        "node",
    )
    assert node_map_entry(NodeRole(f"arn:aws:iam::{ACCOUNT}:role/pods/fargate", NodeType.FARGATE)) == MapEntry(
        f"arn:aws:iam::{ACCOUNT}:role/fargate",
        "system:node:{{SessionName}}",
        ("system:bootstrappers", "system:nodes", "system:node-proxier"),
        "node",
    )


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "prod"])
def test_node_entries_come_first_and_only_they_and_break_glass_use_system_names(
    sample_org: Organisation, stack: str
) -> None:
    plan = stack_plan(sample_org, stack)
    cluster = sample_org.clusters[plan.cluster]
    node_arns = [e.arn for e in plan.map_roles[: len(cluster.node_roles)]]
    assert node_arns == [n.arn for n in cluster.node_roles]
    assert [e.source for e in plan.map_roles].count("node") == len(cluster.node_roles)
    for entry in plan.map_roles[len(cluster.node_roles) :]:
        assert not entry.username.startswith("system:"), entry
        if entry.source == "break-glass":
            assert entry.groups == ("system:masters",)
        else:
            assert not any(g.startswith("system:") for g in entry.groups), entry


def test_node_entries_stay_when_every_grant_goes(tree: ConfigTree) -> None:
    tree.edit("access.yaml", lambda d: d.update(grants={}, ci={}))
    tree.edit("access.yaml", lambda d: d.pop("ci"))
    plan = dev_plan(tree.load())
    assert [e.source for e in plan.map_roles] == ["node", "node", "admin", "monitoring"]


def test_prod_break_glass_is_the_only_system_masters(sample_org: Organisation) -> None:
    plan = plan_environment(sample_org, "prod", AuthMode.CONFIG_MAP)
    masters = [e for e in plan.map_roles if "system:masters" in e.groups]
    assert masters == [
        MapEntry(
            f"arn:aws:iam::{ACCOUNT}:role/eks-prod-break-glass",
            "break-glass:{{SessionName}}",
            ("system:masters",),
            "break-glass",
        )
    ]
    assert plan.map_roles[1].groups[-1] == "eks:kube-proxy-windows"


def test_role_path_is_stripped_in_rolearn_only(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update(path="/teams/eks/"))
    org = tree.load()
    plan = plan_environment(org, "dev", AuthMode.API_AND_CONFIG_MAP)
    human = plan.role("human/projecta/operate")
    assert human.arn == f"arn:aws:iam::{ACCOUNT}:role/teams/eks/projecta-dev-humans"
    assert f"arn:aws:iam::{ACCOUNT}:role/projecta-dev-humans" in [e.arn for e in plan.map_roles]
    assert not any("/teams/" in e.arn for e in plan.map_roles)
    entries = {e.key: e for e in plan.access_entries}
    assert entries["human/projecta/operate"].principal_arn == human.arn  # access entries keep the path


def test_duplicates_after_stripping_or_ignoring_case_are_rejected(sample_org: Organisation) -> None:
    first = MapEntry(f"arn:aws:iam::{ACCOUNT}:role/Ops", "ops:{{SessionName}}", ("ops",), "human")
    for twin in (f"arn:aws:iam::{ACCOUNT}:role/ops", f"arn:aws:iam::{ACCOUNT}:role/a/b/OPS"):
        second = MapEntry(twin, "x:{{SessionName}}", ("x",), "ci")
        with pytest.raises(AwsAuthError) as refusal:
            awsauth.render([first, second])
        assert str(refusal.value) == (
            f"aws-auth would map {twin!r} twice (human and ci); ARNs are compared without path and ignoring "
            "case, so one entry would silently win"
        )
    with pytest.raises(ConfigError) as error:
        check_unique_arns(sample_org, [first, MapEntry(first.arn.upper(), "y", (), "ci")], "clusters.dev")
    assert str(error.value) == (
        f"config/environments.yaml: clusters.dev: aws-auth would map {first.arn.upper()!r} twice (human and ci); "
        "role ARNs are compared without path and ignoring case, so one would silently win"
    )


def test_no_admin_path_is_refused(tree: ConfigTree) -> None:
    tree.edit("access.yaml", lambda d: d.pop("cluster_admins"))
    tree.edit("environments.yaml", lambda d: d["clusters"]["prod"].pop("break_glass_role"))
    with pytest.raises(ConfigError) as error:
        plan_environment(tree.load(), "dev", AuthMode.CONFIG_MAP)
    assert str(error.value) == (
        "config/access.yaml: cluster_admins: cluster 'eks-dev' would have no admin path; list admin teams under "
        "cluster_admins.teams or set a break_glass_role"
    )


def test_break_glass_alone_is_an_admin_path(tree: ConfigTree) -> None:
    tree.edit("access.yaml", lambda d: d.pop("cluster_admins"))
    plan = plan_environment(tree.load(), "prod", AuthMode.CONFIG_MAP)
    assert [e.source for e in plan.map_roles][-1] == "break-glass"


# --- merging with the live ConfigMap ------------------------------------------------------------------------------


def test_fresh_cluster_gets_the_plan_and_the_ownership_annotations(sample_org: Organisation) -> None:
    plan = dev_plan(sample_org)
    merged = merge_dev(sample_org, None, None)
    assert merged == MergedAwsAuth(
        map_roles=awsauth.render(plan.map_roles),
        map_users=None,
        annotations={
            "eks-access/owner": OWNER,
            "eks-access/managed-arns": json.dumps(sorted(e.arn.lower() for e in plan.map_roles), separators=(",", ":")),
        },
        kept=(),
    )
    assert merged.data == {"mapRoles": merged.map_roles}  # mapUsers is not touched when nobody maps users


def test_eks_written_node_entries_are_taken_over(sample_org: Organisation) -> None:
    nodes = [e for e in dev_plan(sample_org).map_roles if e.source == "node"]
    assert merge_dev(sample_org, *eks_live(*nodes)) == merge_dev(sample_org, None, None)


def test_unknown_live_entry_fails_with_a_line_listing_it(sample_org: Organisation) -> None:
    nodes = [e for e in dev_plan(sample_org).map_roles if e.source == "node"]
    other = f"arn:aws:iam::{ACCOUNT}:role/another-stranger"
    data, annotations = eks_live(
        MapEntry(other, "x", ("y",), "live"), *nodes, MapEntry(STRANGER, "system:node:{{EC2PrivateDNSName}}", (), "")
    )
    with pytest.raises(AwsAuthError) as refusal:
        merge_dev(sample_org, data, annotations)
    assert str(refusal.value) == (
        f"live aws-auth mapRoles has entries eks-access did not write and config does not list: {other}, {STRANGER}; "
        f"list them in the cluster's node_roles or under {KEEP_HINT} (EKS adds node-group roles itself)"
    )


def test_listed_live_entry_is_kept_verbatim_after_the_node_entries(sample_org: Organisation) -> None:
    plan = dev_plan(sample_org)
    stranger = MapEntry(STRANGER, "system:node:{{EC2PrivateDNSName}}", ("system:bootstrappers", "system:nodes"), "")
    merged = merge_dev(sample_org, *eks_live(stranger), keep=[f"arn:aws:iam::{ACCOUNT}:role/nodegroups/STRANGER"])
    kept = MapEntry(stranger.arn, stranger.username, stranger.groups, "kept")
    assert merged.map_roles == awsauth.render([*plan.map_roles[:2], kept, *plan.map_roles[2:]])
    assert merged.kept == (STRANGER,)
    assert STRANGER in json.loads(merged.annotations["eks-access/managed-arns"])


def test_entries_this_stack_wrote_before_may_be_removed(sample_org: Organisation) -> None:
    gone = MapEntry(
        f"arn:aws:iam::{ACCOUNT}:role/oldproject-dev-humans",
        "oldproject:dev:{{SessionName}}",
        ("oldproject:dev",),
        "human",
    )
    plan = dev_plan(sample_org)
    data, _ = eks_live(*plan.map_roles, gone)
    previous = {"eks-access/owner": OWNER, "eks-access/managed-arns": json.dumps([gone.arn.lower()])}
    merged = merge_dev(sample_org, data, previous)
    assert merged.map_roles == awsauth.render(plan.map_roles)
    assert gone.arn.lower() not in merged.annotations["eks-access/managed-arns"]


def test_live_keys_are_read_ignoring_case_like_the_authenticator(sample_org: Organisation) -> None:
    live = f"- RoleARN: {NODES}\n  UserName: system:node:{{{{EC2PrivateDNSName}}}}\n  Groups: [system:nodes]\n"
    assert merge_dev(sample_org, {"mapRoles": live}, {}) == merge_dev(sample_org, None, None)


def test_live_entry_with_a_path_for_a_planned_role_is_replaced(sample_org: Organisation) -> None:
    live = MapEntry(f"arn:aws:iam::{ACCOUNT}:role/teams/projecta-dev-humans", "old", ("old",), "")
    assert merge_dev(sample_org, *eks_live(live)) == merge_dev(sample_org, None, None)


def test_sso_entry_is_named_in_the_refusal(sample_org: Organisation) -> None:
    live = "- sso:\n    permissionSetName: Admins\n    accountID: '111122223333'\n  username: admin\n  groups: [x]\n"
    with pytest.raises(AwsAuthError) as refusal:
        merge_dev(sample_org, {"mapRoles": live}, {})
    assert "did not write and config does not list: arn:aws:iam::111122223333:role/AWSReservedSSO_Admins_*;" in str(
        refusal.value
    )


@pytest.mark.parametrize(
    ("live", "message"),
    [
        (
            "- rolearn: arn:aws:iam::111122223333:role/x\n  groups: [a\n",
            "live aws-auth mapRoles is not valid YAML (while parsing a flow sequence); EKS ignores the whole key in "
            "this state: fix it by hand (kubectl edit -n kube-system configmap/aws-auth) before eks-access writes it",
        ),
        ("rolearn: x\n", "live aws-auth mapRoles is not a YAML list; fix it by hand before eks-access writes it"),
        ("- just-a-string\n", "live aws-auth mapRoles entry 0 is not a mapping; fix it by hand first"),
        ("- username: x\n", "live aws-auth mapRoles entry 0 needs exactly one rolearn or sso; fix it by hand first"),
        (
            f"- rolearn: {NODES}\n  groups: system:nodes\n",
            f"live aws-auth mapRoles entry {NODES} has groups that are not a list of strings",
        ),
        (
            f"- rolearn: {NODES}\n  username: yes\n",
            f"live aws-auth mapRoles entry {NODES} has a username that is not a string",
        ),
    ],
)
def test_unparseable_live_map_fails_closed(sample_org: Organisation, live: str, message: str) -> None:
    with pytest.raises(AwsAuthError) as refusal:
        merge_dev(sample_org, {"mapRoles": live}, {})
    assert str(refusal.value) == message


def test_map_owned_by_another_stack_is_refused(sample_org: Organisation) -> None:
    with pytest.raises(AwsAuthError) as refusal:
        merge_dev(sample_org, None, {"eks-access/owner": "eks-access/staging"})
    assert str(refusal.value) == (
        "kube-system/aws-auth is owned by stack 'eks-access/staging', not 'eks-access/dev'; one stack owns mapRoles "
        "per cluster (use access:authMode api for environments sharing a cluster)"
    )


def test_broken_managed_annotation_is_refused(sample_org: Organisation) -> None:
    with pytest.raises(AwsAuthError) as refusal:
        merge_dev(sample_org, None, {"eks-access/managed-arns": "{not json"})
    assert str(refusal.value) == (
        "annotation eks-access/managed-arns on kube-system/aws-auth is not a JSON list of ARNs; remove it by hand "
        "so eks-access re-checks every entry"
    )


# --- mapUsers (supported, discouraged) -----------------------------------------------------------------------------

LEGACY_USER = f"arn:aws:iam::{ACCOUNT}:user/legacy-ops"


def with_map_users(tree: ConfigTree) -> Organisation:
    entry = {"userarn": LEGACY_USER, "username": "legacy-ops", "groups": ["eks-access:monitoring"]}
    tree.edit("access.yaml", lambda d: d.update(map_users={"dev": [entry]}))
    return tree.load()


def test_map_users_are_rendered_and_unknown_live_users_refused(tree: ConfigTree) -> None:
    org = with_map_users(tree)
    plan = dev_plan(org)
    assert plan.map_users == (MapEntry(LEGACY_USER, "legacy-ops", ("eks-access:monitoring",), "user"),)
    merged = awsauth.merge(plan.map_roles, plan.map_users, None, None, OWNER, ())
    assert merged.map_users == awsauth.render(plan.map_users, "userarn")
    assert merged.data == {"mapRoles": merged.map_roles, "mapUsers": merged.map_users}
    live_users = {"mapUsers": f"- userarn: arn:aws:iam::{ACCOUNT}:user/someone\n  username: s\n  groups: []\n"}
    with pytest.raises(AwsAuthError) as refusal:
        awsauth.merge(plan.map_roles, plan.map_users, live_users, None, OWNER, ())
    assert str(refusal.value) == (
        f"live aws-auth mapUsers has entries eks-access did not write and config does not list: "
        f"arn:aws:iam::{ACCOUNT}:user/someone; declare them under map_users in config/access.yaml "
        "(EKS adds node-group roles itself)"
    )


def test_removing_the_last_map_user_empties_the_key_this_stack_wrote(sample_org: Organisation) -> None:
    plan = dev_plan(sample_org)
    user = MapEntry(LEGACY_USER, "legacy-ops", ("x",), "user")
    data = {"mapUsers": awsauth.render([user], "userarn")}
    previous = {"eks-access/managed-arns": json.dumps([LEGACY_USER.lower()])}
    merged = awsauth.merge(plan.map_roles, [], data, previous, OWNER, ())
    assert merged.map_users == "[]\n"
    assert authenticator_read(merged.map_users, "userarn") == {}


def test_live_map_users_of_others_are_left_alone_when_this_stack_maps_no_users(sample_org: Organisation) -> None:
    plan = dev_plan(sample_org)
    data = {"mapUsers": "- userarn: arn:aws:iam::111122223333:user/hand-made\n  username: h\n"}
    merged = awsauth.merge(plan.map_roles, [], data, None, OWNER, ())
    assert merged.map_users is None and "mapUsers" not in merged.data


def test_a_map_user_may_not_pose_as_a_node(tree: ConfigTree) -> None:
    entry = {"userarn": LEGACY_USER, "username": "system:node:ip-10-0-0-1", "groups": ["ops"]}
    tree.edit("access.yaml", lambda d: d.update(map_users={"dev": [entry]}))
    with pytest.raises(ConfigError) as error:
        dev_plan(tree.load())
    assert str(error.value) == (
        f"config/access.yaml: map_users.dev: username 'system:node:ip-10-0-0-1' of {LEGACY_USER!r} is a system: "
        "name; people may not pose as nodes or Kubernetes components"
    )


def test_an_aws_auth_the_api_server_would_reject_is_refused() -> None:
    """Issue 7: every document within its size limit. The managed-ARN annotation grows with every principal."""
    from access.core.awsauth import ANNOTATIONS_MAX_BYTES, MergedAwsAuth, check_size
    from access.errors import AwsAuthError

    arns = [f"arn:aws:iam::111122223333:role/{'r' * 40}-{i:05d}" for i in range(4000)]
    big = MergedAwsAuth(
        map_roles="[]\n", map_users=None, annotations={"eks-access/managed-arns": ",".join(arns)}, kept=()
    )
    with pytest.raises(AwsAuthError) as error:
        check_size(big)
    size = len("eks-access/managed-arns") + len(",".join(arns))
    assert size > ANNOTATIONS_MAX_BYTES
    assert str(error.value) == (
        f"aws-auth annotations would be {size} bytes; Kubernetes allows {ANNOTATIONS_MAX_BYTES}: too many principals "
        "for one aws-auth, use access:authMode api (access entries)"
    )
    check_size(MergedAwsAuth(map_roles="[]\n", map_users=None, annotations={"k": ",".join(arns[:100])}, kept=()))
