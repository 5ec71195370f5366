"""``environments.yaml``: AWS accounts (with raised quotas), EKS clusters (node roles, break-glass), environments."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from access.core import names
from access.core.config.nodes import Node, Source, reference, unique_ids
from access.core.model import (
    MAX_GROUPS_PER_ACCOUNT,
    MAX_ROLES_PER_ACCOUNT,
    MAX_TRUST_POLICY_CHARS,
    Account,
    Cluster,
    Environment,
    IdentityCenter,
    NodeRole,
    NodeType,
    People,
    Quotas,
)


@dataclass(frozen=True)
class Environments:
    accounts: dict[str, Account]
    clusters: dict[str, Cluster]
    environments: dict[str, Environment]
    nodes: dict[str, Node]  # each environment's node, for messages about it
    people: People = field(default_factory=People)


@dataclass(frozen=True)
class _AccountDraft:
    """An account before its home environment is known (environments come later in the file)."""

    number: str
    quotas: Quotas
    declared_home: str | None
    node: Node


def read(source: Source) -> Environments:
    root = source.root("environments.yaml").mapping(
        {"accounts", "clusters", "environments", "people"}, required=("accounts", "clusters", "environments")
    )
    drafts = _accounts(root["accounts"])
    cluster_nodes: dict[str, Node] = {}
    clusters = _clusters(source, root["clusters"], drafts, cluster_nodes)
    environments, env_nodes = _environments(root["environments"], drafts, clusters)
    people = _people(root["people"], drafts, environments) if "people" in root else People()
    accounts = _home_environments(drafts, environments, people)
    clusters = {
        cid: replace(
            cluster,
            home_environment=resolve_home(
                cluster_nodes[cid],
                cluster.home_environment or None,
                [e.id for e in environments.values() if e.cluster == cid],
                "cluster",
                "the cluster-wide objects (node and break-glass access entries, cluster RBAC)",
            ),
        )
        for cid, cluster in clusters.items()
    }
    return Environments(accounts, clusters, environments, env_nodes, people)


def _people(node: Node, drafts: dict[str, _AccountDraft], environments: dict[str, Environment]) -> People:
    """``people: {account: <accounts key>, home_environment: <env>}``: the identity account whose IAM users are
    every environment's people, and the environment whose stack owns its team groups and memberships."""
    m = node.mapping({"account", "home_environment", "identity_center"})
    center = _identity_center(m["identity_center"], drafts) if "identity_center" in m else None
    if "account" not in m:
        if "home_environment" in m:
            raise m["home_environment"].error("only read with people.account (the identity account); remove it")
        if center is None:
            raise node.error("set people.account (an identity account) or people.identity_center, or remove people")
        return People(identity_center=center)
    account = reference(m["account"], drafts, "account", "environments.yaml accounts")
    if center is not None and center.account != account:
        raise (
            m["identity_center"]
            .child("account", center.account)
            .error(
                f"must be the identity account {account!r} (people.account): one identity provider per stack reaches "
                "both the IAM users' groups and Identity Center"
            )
        )
    declared = m["home_environment"].string().lower() if "home_environment" in m else None
    home = resolve_home(node, declared, sorted(environments), "identity account", "its IAM groups and memberships")
    return People(account=account, home_environment=home, identity_center=center)


def _identity_center(node: Node, drafts: dict[str, _AccountDraft]) -> IdentityCenter:
    """``people.identity_center: {instance_arn, identity_store_id, account}``."""
    m = node.mapping(
        {"instance_arn", "identity_store_id", "account"},
        required=tuple(("instance_arn", "identity_store_id", "account")),
    )
    instance = m["instance_arn"].string()
    if not names.SSO_INSTANCE_ARN_RE.match(instance):
        raise m["instance_arn"].error(
            f"{instance!r} is not an Identity Center instance ARN like arn:aws:sso:::instance/ssoins-0123456789abcdef"
        )
    store = m["identity_store_id"].string()
    if not names.IDENTITY_STORE_ID_RE.match(store):
        raise m["identity_store_id"].error(f"{store!r} is not an identity store id like d-1234567890")
    account = reference(m["account"], drafts, "account", "environments.yaml accounts")
    return IdentityCenter(instance_arn=instance, identity_store_id=store, account=account)


def _home_environments(
    drafts: dict[str, _AccountDraft], environments: dict[str, Environment], people: People
) -> dict[str, Account]:
    out: dict[str, Account] = {}
    for aid, draft in drafts.items():
        in_account = [e.id for e in environments.values() if e.account == aid]
        if people.account:
            # Every team group lives in the identity account: no workload account has groups to own.
            if draft.declared_home is not None:
                raise draft.node.child("home_environment", draft.declared_home).error(
                    f"people live in account {people.account!r} (people.account), whose groups and memberships "
                    "the stack of people.home_environment owns; this account has no IAM groups: remove the key"
                )
            if not in_account and aid != people.account:
                raise draft.node.error("no environment uses this account; remove it or add an environment")
            home = people.home_environment if aid == people.account else ""
        else:
            center = people.identity_center.account if people.identity_center else None
            if not in_account and aid == center:
                out[aid] = Account(id=aid, account_id=draft.number, quotas=draft.quotas, home_environment="")
                continue
            if not in_account:
                raise draft.node.error("no environment uses this account; remove it or add an environment")
            home = resolve_home(
                draft.node, draft.declared_home, in_account, "account", "the account's IAM groups and memberships"
            )
        out[aid] = Account(id=aid, account_id=draft.number, quotas=draft.quotas, home_environment=home)
    return out


def _accounts(node: Node) -> dict[str, _AccountDraft]:
    out: dict[str, _AccountDraft] = {}
    by_number: dict[str, str] = {}
    for aid, anode in unique_ids(node, "account"):
        m = anode.mapping({"id", "quotas", "home_environment"}, required=("id",))
        number = _account_number(m["id"])
        if number in by_number:
            raise m["id"].error(f"account {number} is also declared as {by_number[number]!r}")
        by_number[number] = aid
        quotas = _quotas(m["quotas"]) if "quotas" in m else Quotas()
        home = m["home_environment"].string().lower() if "home_environment" in m else None
        out[aid] = _AccountDraft(number, quotas, home, anode)
    if not out:
        raise node.error("declare at least one account")
    return out


def _account_number(node: Node) -> str:
    if isinstance(node.value, int) and not isinstance(node.value, bool):
        raise node.error(
            'write the account id as a quoted string, e.g. id: "111122223333" (as a number it loses leading zeros)'
        )
    number = node.string()
    if not names.ACCOUNT_ID_RE.match(number):
        raise node.error(f"{number!r} is not a 12-digit AWS account id")
    return number


def _quotas(node: Node) -> Quotas:
    q = node.mapping({"roles_per_account", "groups_per_account", "role_trust_policy_chars"})
    quotas = Quotas()
    if "roles_per_account" in q:
        value = q["roles_per_account"].integer(1, MAX_ROLES_PER_ACCOUNT, " (the most AWS grants)")
        quotas = replace(quotas, roles_per_account=value)
    if "groups_per_account" in q:
        value = q["groups_per_account"].integer(1, MAX_GROUPS_PER_ACCOUNT, " (the most AWS grants)")
        quotas = replace(quotas, groups_per_account=value)
    if "role_trust_policy_chars" in q:
        value = q["role_trust_policy_chars"].integer(
            2048, MAX_TRUST_POLICY_CHARS, " (the default is 2048, the most AWS grants 4096)"
        )
        quotas = replace(quotas, role_trust_policy_chars=value)
    return quotas


def _clusters(
    source: Source, node: Node, accounts: dict[str, _AccountDraft], cluster_nodes: dict[str, Node]
) -> dict[str, Cluster]:
    out: dict[str, Cluster] = {}
    eks_names: dict[tuple[str, str], str] = {}
    for cid, cnode in unique_ids(node, "cluster"):
        m = cnode.mapping(
            {
                "name",
                "account",
                "node_roles",
                "keep_map_roles",
                "retired_node_roles",
                "break_glass_role",
                "home_environment",
                "external_admins",
            },
            required=("name", "account"),
        )
        name = m["name"].string()
        if not 1 <= len(name) <= 100 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
            raise m["name"].error(f"EKS cluster name {name!r} must be 1-100 of [A-Za-z0-9_-]")
        account = reference(m["account"], accounts, "account", "environments.yaml accounts")
        if (account, name) in eks_names:
            raise m["name"].error(
                f"cluster {name!r} in account {account!r} is also declared as {eks_names[(account, name)]!r}"
            )
        eks_names[(account, name)] = cid
        node_roles = _node_roles(source, m["node_roles"]) if "node_roles" in m else ()
        keep = _role_list(source, m["keep_map_roles"], "keep_map_roles") if "keep_map_roles" in m else ()
        retired = _role_list(source, m["retired_node_roles"], "retired_node_roles") if "retired_node_roles" in m else ()
        _check_retired(m, retired, [r.arn for r in node_roles], keep)
        break_glass = source.arn(m["break_glass_role"], ("role",)) if "break_glass_role" in m else None
        out[cid] = Cluster(
            id=cid,
            name=name,
            account=account,
            node_roles=node_roles,
            keep_map_roles=keep,
            break_glass_role_arn=break_glass,
            home_environment=m["home_environment"].string().lower() if "home_environment" in m else "",
            retired_node_roles=retired,
            external_admins=m["external_admins"].string() if "external_admins" in m else "",
        )
        cluster_nodes[cid] = cnode
    return out


def _role_list(source: Source, node: Node, what: str) -> tuple[str, ...]:
    """Role ARNs, each once (compared as aws-iam-authenticator compares them: without path, ignoring case)."""
    seen: dict[str, str] = {}
    arns: list[str] = []
    for item in node.items():
        arn = source.arn(item, ("role",))
        key = names.strip_role_path(arn).lower()
        if key in seen:
            raise item.error(f"{arn!r} is listed twice in {what} (also {seen[key]!r})")
        seen[key] = arn
        arns.append(arn)
    return tuple(arns)


def _check_retired(
    cluster: dict[str, Node], retired: tuple[str, ...], mapped: list[str], kept: tuple[str, ...]
) -> None:
    """A role cannot be retired and still mapped or kept: the two decisions contradict each other."""
    listed = {names.strip_role_path(a).lower(): ("node_roles", a) for a in mapped}
    listed.update({names.strip_role_path(a).lower(): ("keep_map_roles", a) for a in kept})
    for i, arn in enumerate(retired):
        other = listed.get(names.strip_role_path(arn).lower())
        if other is not None:
            where, as_listed = other
            raise (
                cluster["retired_node_roles"]
                .child(i, arn)
                .error(f"{arn!r} is also in {where} ({as_listed!r}); a role is mapped or retired: remove it from one")
            )


def _node_roles(source: Source, node: Node) -> tuple[NodeRole, ...]:
    node_roles: list[NodeRole] = []
    seen_arns: dict[str, str] = {}
    for rnode in node.items():
        r = rnode.mapping({"arn", "type", "eks_managed"}, required=("arn",))
        arn = source.arn(r["arn"], ("role",))
        key = names.strip_role_path(arn).lower()
        if key in seen_arns:
            raise r["arn"].error(f"node role {arn!r} is listed twice (also {seen_arns[key]!r})")
        seen_arns[key] = arn
        kind = r["type"].string() if "type" in r else "ec2"
        try:
            node_type = NodeType(kind)
        except ValueError:
            raise r["type"].error(f"unknown node type {kind!r}; expected ec2, windows or fargate") from None
        eks_managed = r["eks_managed"].boolean() if "eks_managed" in r else False
        node_roles.append(NodeRole(arn=arn, type=node_type, eks_managed=eks_managed))
    # A canonical order, not the config's: reordering the list must not change aws-auth (an empty preview).
    # EC2, then Windows, then Fargate roles (NodeType's order), each kind by ARN.
    return tuple(sorted(node_roles, key=_node_role_order))


def _node_role_order(role: NodeRole) -> tuple[int, str]:
    return list(NodeType).index(role.type), names.strip_role_path(role.arn).lower()


def _environments(
    node: Node, accounts: dict[str, _AccountDraft], clusters: dict[str, Cluster]
) -> tuple[dict[str, Environment], dict[str, Node]]:
    out: dict[str, Environment] = {}
    nodes: dict[str, Node] = {}
    for eid, enode in unique_ids(node, "environment"):
        m = enode.mapping({"account", "cluster"}, required=("account", "cluster"))
        account = reference(m["account"], accounts, "account", "environments.yaml accounts")
        cluster = reference(m["cluster"], clusters, "cluster", "environments.yaml clusters")
        if clusters[cluster].account != account:
            raise m["cluster"].error(
                f"cluster {cluster!r} is in account {clusters[cluster].account!r}, not {account!r}"
            )
        out[eid] = Environment(id=eid, account=account, cluster=cluster)
        nodes[eid] = enode
    if not out:
        raise node.error("declare at least one environment")
    return out, nodes


def resolve_home(node: Node, declared: str | None, members: list[str], what: str, owns: str) -> str:
    """The environment whose stack owns what exists once per account or cluster.

    Declared whenever several environments share it: never "the first one listed", since reordering config
    would then move resources to another stack (a delete in one, a create in the other).
    """
    if declared is None:
        if len(members) > 1:
            raise node.error(
                f"environments {', '.join(sorted(members))} share this {what}: set home_environment to the one "
                f"whose stack owns {owns} (it is applied first)"
            )
        return members[0] if members else ""
    if declared not in members:
        raise node.child("home_environment", declared).error(
            f"{declared!r} is not an environment of this {what} (its environments: {', '.join(members) or 'none'})"
        )
    return declared
