"""Load ``config/*.yaml`` into a validated :class:`access.core.model.Organisation`.

Every problem is a :class:`ConfigError` naming the file and the key path, with a hint how to fix it.
Unknown keys are rejected everywhere. Ids are lowercased; two ids equal after that are an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from access.core import names
from access.core.catalog import (
    BUILTIN_LEVELS,
    CLUSTER_SCOPED,
    KNOWN_RESOURCES,
    KNOWN_VERBS,
    MONITORING_FORBIDDEN,
    dangerous_grants,
)
from access.core.model import (
    MAX_GROUPS_PER_ACCOUNT,
    MAX_ROLES_PER_ACCOUNT,
    MAX_TRUST_POLICY_CHARS,
    AccessLevel,
    Account,
    CiDeployer,
    Cluster,
    Environment,
    GithubOidc,
    Grant,
    MapUser,
    Mfa,
    Monitoring,
    Naming,
    NodeRole,
    NodeType,
    Organisation,
    PolicyRule,
    Project,
    Quotas,
    RoleSettings,
    Team,
)
from access.core.yamlio import load_mapping
from access.errors import ConfigError

FILES = ("settings.yaml", "environments.yaml", "teams.yaml", "projects.yaml", "access.yaml")
OPTIONAL_FILES = frozenset({"settings.yaml"})
_HUMAN_FIELDS = frozenset({"project", "env", "level"})
TEMPLATE_FIELDS_BY_KEY: dict[str, frozenset[str]] = {
    "role": _HUMAN_FIELDS,
    "kubernetes_group": _HUMAN_FIELDS,
    "username": _HUMAN_FIELDS,
    "namespace": frozenset({"project", "env"}),
    "iam_group": frozenset({"team"}),
    "group_path": frozenset(),
    "admin_role": frozenset({"env"}),
    "admin_group": frozenset(),
    "admin_username": frozenset(),
    "monitoring_role": frozenset({"env"}),
    "monitoring_group": frozenset(),
    "monitoring_username": frozenset(),
    "ci_role": frozenset({"ci", "env"}),
    "ci_group": frozenset({"ci"}),
    "ci_username": frozenset({"ci"}),
}
MIN_SESSION = 3600
MAX_SESSION = 43200
# Templates that become Kubernetes groups and usernames, which EKS access entries restrict.
KUBERNETES_NAME_KEYS: dict[str, str] = {
    "kubernetes_group": "Kubernetes group",
    "admin_group": "Kubernetes group",
    "monitoring_group": "Kubernetes group",
    "ci_group": "Kubernetes group",
    "username": "Kubernetes username",
    "admin_username": "Kubernetes username",
    "monitoring_username": "Kubernetes username",
    "ci_username": "Kubernetes username",
}
READ_VERBS = frozenset({"get", "list", "watch"})
# Tags eks-access puts on every role itself (plan._tags); a config tag with one of these keys would be overwritten.
OWN_TAG_KEYS = frozenset({"managed-by", "environment", "project", "team", "level", "purpose", "ci"})
MAX_CONFIG_TAGS = 45  # IAM allows 50 tags per role; eks-access adds up to 5


class Node:
    """A value read from a config file, with the key path that leads to it."""

    def __init__(self, file: str, path: str, value: Any) -> None:
        self.file = file
        self.path = path
        self.value = value

    def error(self, message: str) -> ConfigError:
        return ConfigError(self.file, self.path, message)

    def child(self, key: str | int, value: Any) -> Node:
        if isinstance(key, int):
            return Node(self.file, f"{self.path}[{key}]", value)
        return Node(self.file, f"{self.path}.{key}" if self.path else key, value)

    def mapping(self, allowed: Iterable[str] | None = None, required: Iterable[str] = ()) -> dict[str, Node]:
        """Children of a mapping; ``allowed=None`` means keys are ids (any string)."""
        if not isinstance(self.value, dict):
            raise self.error(f"must be a mapping, found {_describe(self.value)}")
        out: dict[str, Node] = {}
        allowed_set = None if allowed is None else set(allowed)
        for key, value in self.value.items():
            if not isinstance(key, str):
                raise self.error(f"key {key!r} must be a string; quote it")
            if allowed_set is not None and key not in allowed_set:
                raise self.child(key, value).error(f"unknown key; expected one of: {', '.join(sorted(allowed_set))}")
            out[key] = self.child(key, value)
        for key in required:
            if key not in out:
                raise self.error(f"missing required key {key!r}")
        return out

    def items(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.error(f"must be a list, found {_describe(self.value)}")
        return [self.child(i, v) for i, v in enumerate(self.value)]

    def string(self) -> str:
        if not isinstance(self.value, str) or not self.value:
            raise self.error(f"must be a non-empty string, found {_describe(self.value)}")
        return self.value

    def integer(self, low: int, high: int, why: str = "") -> int:
        """A whole number in ``low..high``; ``why`` completes the out-of-range message (unit, whose limit)."""
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"must be a whole number, found {_describe(self.value)}")
        if not low <= self.value <= high:
            raise self.error(f"{self.value} is outside {low}..{high}{why}")
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"must be true or false, found {_describe(self.value)}")
        return self.value

    def strings(self) -> list[Node]:
        nodes = self.items()
        for node in nodes:
            node.string()
        return nodes


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {value}".lower()
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}" if value else "an empty string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def normalise_id(node: Node, key: str, what: str) -> str:
    """Lowercase an id and check it can become part of IAM and Kubernetes names."""
    norm = key.lower()
    if not names.ID_RE.match(norm) or not norm.isascii():
        raise node.error(
            f"{what} id {key!r} may contain only letters, digits and '-', starting and ending with a letter or digit"
        )
    return norm


def unique_ids(parent: Node, what: str) -> Iterator[tuple[str, Node]]:
    """Yield (normalised id, node) for a mapping of ids, refusing ids equal after lowercasing."""
    seen: dict[str, str] = {}
    for key, node in parent.mapping().items():
        norm = normalise_id(node, key, what)
        if norm in seen:
            raise node.error(f"{what} id {key!r} collides with {seen[norm]!r} (ids are compared lowercased)")
        seen[norm] = key
        yield norm, node


def _arn(node: Node, kinds: tuple[str, ...]) -> str:
    """An IAM principal ARN of one of ``kinds`` (role, user, root); wildcards and groups are refused."""
    arn = node.string()
    if "*" in arn or "?" in arn:
        raise node.error(f"wildcard principal {arn!r} is not allowed; name the exact role or user ARN")
    match = names.ARN_RE.match(arn)
    parts = arn.split(":")
    if "root" in kinds and len(parts) == 6 and parts[5] == "root" and names.ACCOUNT_ID_RE.match(parts[4]):
        return arn
    if not match:
        raise node.error(f"{arn!r} is not an IAM ARN like arn:aws:iam::111122223333:role/name")
    kind = match.group(4)
    if kind == "group":
        raise node.error(f"{arn!r} is an IAM group; a group can never be a principal (IAM rejects it), use its role")
    if kind not in kinds:
        raise node.error(f"{arn!r} is a {kind} ARN; expected a {' or '.join(kinds)} ARN")
    return arn


def _node_role_order(role: NodeRole) -> tuple[int, str]:
    return list(NodeType).index(role.type), names.strip_role_path(role.arn).lower()


class Loader:
    def __init__(self, config_dir: Path, label: str | None = None) -> None:
        self.dir = config_dir
        self.label = label if label is not None else str(config_dir)
        self.role_refs: list[tuple[str, Node]] = []  # role ARNs the config names, checked against derived names

    def _arn(self, node: Node, kinds: tuple[str, ...]) -> str:
        arn = _arn(node, kinds)
        if ":role/" in arn:
            self.role_refs.append((arn, node))
        return arn

    def file_label(self, name: str) -> str:
        return f"{self.label}/{name}"

    def root(self, name: str) -> Node:
        label = self.file_label(name)
        path = self.dir / name
        if name in OPTIONAL_FILES and not path.exists():
            return Node(label, "", {})
        return Node(label, "", load_mapping(path, label))

    def load(self) -> Organisation:
        if not self.dir.is_dir():
            raise ConfigError(self.label, "", "config directory not found (set access:configDir or pass --config)")
        settings = self.root("settings.yaml").mapping({"naming", "roles", "iam"})
        naming = self._naming(settings.get("naming"))
        role_settings = self._role_settings(settings.get("roles"))
        create_users = False
        if "iam" in settings:
            iam = settings["iam"].mapping({"create_users"})
            create_users = iam["create_users"].boolean() if "create_users" in iam else False

        env_root = self.root("environments.yaml").mapping(
            {"accounts", "clusters", "environments"}, required=("accounts", "clusters", "environments")
        )
        accounts_raw = self._accounts(env_root["accounts"])
        cluster_nodes: dict[str, Node] = {}
        clusters = self._clusters(env_root["clusters"], accounts_raw, cluster_nodes)
        environments, env_nodes = self._environments(env_root["environments"], accounts_raw, clusters)
        accounts = self._home_environments(accounts_raw, environments)
        clusters = {
            cid: replace(
                cluster,
                home_environment=_resolve_home(
                    cluster_nodes[cid],
                    cluster.home_environment or None,
                    [e.id for e in environments.values() if e.cluster == cid],
                    "cluster",
                    "the cluster-wide objects (node and break-glass access entries, cluster RBAC)",
                ),
            )
            for cid, cluster in clusters.items()
        }

        teams = self._teams(self.root("teams.yaml").mapping({"teams"}, required=("teams",))["teams"], role_settings)
        projects = self._projects(
            self.root("projects.yaml").mapping({"projects"}, required=("projects",))["projects"], teams, environments
        )

        access = self.root("access.yaml").mapping(
            {"grants", "levels", "cluster_admins", "monitoring", "ci", "map_users"}, required=("grants",)
        )
        levels = dict(BUILTIN_LEVELS)
        if "levels" in access:
            levels.update(self._custom_levels(access["levels"]))
        grants = self._grants(access["grants"], teams, projects, levels)
        admin_teams: tuple[str, ...] = ()
        if "cluster_admins" in access:
            admin_teams, break_glass = self._cluster_admins(access["cluster_admins"], teams)
            if break_glass is not None:
                clusters = {
                    cid: replace(c, break_glass_role_arn=c.break_glass_role_arn or break_glass)
                    for cid, c in clusters.items()
                }
        monitoring = self._monitoring(access["monitoring"]) if "monitoring" in access else None
        ci = self._ci(access["ci"], projects) if "ci" in access else {}
        map_users = self._map_users(access["map_users"], clusters) if "map_users" in access else {}

        org = Organisation(
            accounts=accounts,
            clusters=clusters,
            environments=environments,
            teams=teams,
            projects=projects,
            levels=levels,
            grants=grants,
            admin_teams=admin_teams,
            monitoring=monitoring,
            ci=ci,
            map_users=map_users,
            naming=naming,
            roles=role_settings,
            create_users=create_users,
            files={name: self.file_label(name) for name in FILES},
        )
        self._check_derived_names(org, access, env_nodes)
        return org

    # settings.yaml -------------------------------------------------------------------------------------------------

    def _naming(self, node: Node | None) -> Naming:
        if node is None:
            return Naming()
        fields = Naming.__dataclass_fields__
        values: dict[str, str] = {}
        for key, child in node.mapping(fields.keys()).items():
            template = child.string()
            syntax = names.template_syntax_problem(template)
            if syntax:
                raise child.error(syntax)
            allowed = TEMPLATE_FIELDS_BY_KEY[key]
            unknown = names.template_fields(template) - allowed
            if unknown:
                usable = ", ".join("{" + f + "}" for f in sorted(allowed)) or "no placeholders"
                raise child.error(
                    f"placeholder {{{sorted(unknown)[0]}}} cannot be used in {key}; it takes {usable} "
                    "(the EKS token {{SessionName}} passes through)"
                )
            values[key] = template
        naming = Naming(**values)
        for key in ("username", "admin_username", "monitoring_username", "ci_username"):
            if names.SESSION_NAME not in getattr(naming, key):
                raise node.child(key, getattr(naming, key)).error(
                    "username template must contain {{SessionName}} so each person is told apart in audit logs"
                )
        if ("level" in names.template_fields(naming.role)) != (
            "level" in names.template_fields(naming.kubernetes_group)
        ):
            raise node.error(
                "use {level} in both naming.role and naming.kubernetes_group or in neither: "
                "each role must map to a Kubernetes group of its own"
            )
        # A literal prefix such as "system:" is wrong whatever the ids (the ':' before {{SessionName}} that access
        # entries need is checked by the plan, which knows the stack's auth mode);
        # problems that come from an id are reported where the id is used (_check_derived_names).
        for key, what in KUBERNETES_NAME_KEYS.items():
            template = getattr(naming, key)
            problem = names.reserved_prefix_problem(template, what)
            if what == "Kubernetes group":
                problem = names.human_group_problem(template) or problem
            if problem:
                raise node.child(key, template).error(problem)
        if not names.IAM_PATH_RE.match(naming.group_path):
            raise node.child("group_path", naming.group_path).error("IAM path must start and end with '/'")
        return naming

    def _role_settings(self, node: Node | None) -> RoleSettings:
        if node is None:
            return RoleSettings()
        m = node.mapping(
            {
                "path",
                "max_session_duration",
                "permissions_boundary",
                "session_name_condition",
                "mfa",
                "trust_account_root",
                "trusted_principals",
                "external_id",
                "managed_policy_arns",
                "tags",
            }
        )
        settings = RoleSettings()
        if "path" in m:
            path = m["path"].string()
            if not names.IAM_PATH_RE.match(path) or len(path) > 512:
                raise m["path"].error(f"IAM path {path!r} must start and end with '/', e.g. /teams/")
            settings = replace(settings, path=path)
        if "max_session_duration" in m:
            duration = m["max_session_duration"].integer(
                MIN_SESSION, MAX_SESSION, " seconds: IAM allows a role's maximum session to be 1 to 12 hours"
            )
            settings = replace(settings, max_session_duration=duration)
        if "permissions_boundary" in m:
            arn = m["permissions_boundary"].string()
            if not arn.startswith("arn:aws") or ":policy/" not in arn:
                raise m["permissions_boundary"].error(f"{arn!r} is not a managed policy ARN")
            settings = replace(settings, permissions_boundary=arn)
        if "session_name_condition" in m:
            settings = replace(settings, session_name_condition=m["session_name_condition"].boolean())
        if "trust_account_root" in m:
            settings = replace(settings, trust_account_root=m["trust_account_root"].boolean())
        if "mfa" in m:
            mfa = m["mfa"].mapping({"required", "max_age_seconds"})
            default_mfa = Mfa()
            settings = replace(
                settings,
                mfa=Mfa(
                    required=mfa["required"].boolean() if "required" in mfa else default_mfa.required,
                    max_age_seconds=(
                        mfa["max_age_seconds"].integer(1, 129600, " seconds")
                        if "max_age_seconds" in mfa
                        else default_mfa.max_age_seconds
                    ),
                ),
            )
        if "trusted_principals" in m:
            settings = replace(
                settings,
                trusted_principals=tuple(
                    self._arn(n, ("role", "user", "root")) for n in m["trusted_principals"].items()
                ),
            )
        if "external_id" in m:
            external_id = m["external_id"].string()
            if not 2 <= len(external_id) <= 1224:
                raise m["external_id"].error("sts:ExternalId must be 2 to 1224 characters")
            settings = replace(settings, external_id=external_id)
        if "managed_policy_arns" in m:
            arns = []
            for n in m["managed_policy_arns"].items():
                arn = n.string()
                if ":policy/" not in arn:
                    raise n.error(f"{arn!r} is not a managed policy ARN")
                arns.append(arn)
            settings = replace(settings, managed_policy_arns=tuple(arns))
        if "tags" in m:
            tags = []
            for key, n in m["tags"].mapping().items():
                if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                    raise n.error("an IAM tag key must be 1-128 characters and may not start with 'aws:'")
                if key.lower() in OWN_TAG_KEYS:
                    raise n.error(
                        f"eks-access sets the tag {key!r} itself; choose another key "
                        f"(its own: {', '.join(sorted(OWN_TAG_KEYS))})"
                    )
                if not isinstance(n.value, str):
                    raise n.error(f"an IAM tag value must be a string, found {_describe(n.value)}")
                if len(n.value) > 256:
                    raise n.error(f"tag value is {len(n.value)} characters; IAM allows at most 256")
                tags.append((key, n.value))
            if len(tags) > MAX_CONFIG_TAGS:
                raise m["tags"].error(
                    f"{len(tags)} tags; IAM allows 50 per role and eks-access adds up to 5 of its own"
                )
            settings = replace(settings, tags=tuple(sorted(tags)))
        if not settings.trust_account_root and not settings.trusted_principals:
            raise node.error("trust_account_root is false and trusted_principals is empty: nobody could assume roles")
        return settings

    # environments.yaml ---------------------------------------------------------------------------------------------

    def _accounts(self, node: Node) -> dict[str, tuple[str, Quotas, str | None, Node]]:
        out: dict[str, tuple[str, Quotas, str | None, Node]] = {}
        by_number: dict[str, str] = {}
        for aid, anode in unique_ids(node, "account"):
            m = anode.mapping({"id", "quotas", "home_environment"}, required=("id",))
            number = m["id"].value
            if isinstance(number, int) and not isinstance(number, bool):
                raise m["id"].error(
                    'write the account id as a quoted string, e.g. id: "111122223333" '
                    "(as a number it loses leading zeros)"
                )
            number = m["id"].string()
            if not names.ACCOUNT_ID_RE.match(number):
                raise m["id"].error(f"{number!r} is not a 12-digit AWS account id")
            if number in by_number:
                raise m["id"].error(f"account {number} is also declared as {by_number[number]!r}")
            by_number[number] = aid
            quotas = Quotas()
            if "quotas" in m:
                q = m["quotas"].mapping({"roles_per_account", "groups_per_account", "role_trust_policy_chars"})
                if "roles_per_account" in q:
                    quotas = replace(
                        quotas,
                        roles_per_account=q["roles_per_account"].integer(
                            1, MAX_ROLES_PER_ACCOUNT, " (the most AWS grants)"
                        ),
                    )
                if "groups_per_account" in q:
                    quotas = replace(
                        quotas,
                        groups_per_account=q["groups_per_account"].integer(
                            1, MAX_GROUPS_PER_ACCOUNT, " (the most AWS grants)"
                        ),
                    )
                if "role_trust_policy_chars" in q:
                    quotas = replace(
                        quotas,
                        role_trust_policy_chars=q["role_trust_policy_chars"].integer(
                            2048, MAX_TRUST_POLICY_CHARS, " (the default is 2048, the most AWS grants 4096)"
                        ),
                    )
            home = m["home_environment"].string().lower() if "home_environment" in m else None
            out[aid] = (number, quotas, home, anode)
        if not out:
            raise node.error("declare at least one account")
        return out

    def _clusters(self, node: Node, accounts: dict[str, Any], cluster_nodes: dict[str, Node]) -> dict[str, Cluster]:
        out: dict[str, Cluster] = {}
        eks_names: dict[tuple[str, str], str] = {}
        for cid, cnode in unique_ids(node, "cluster"):
            m = cnode.mapping(
                {"name", "account", "node_roles", "keep_map_roles", "break_glass_role", "home_environment"},
                required=("name", "account"),
            )
            name = m["name"].string()
            if not 1 <= len(name) <= 100 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
                raise m["name"].error(f"EKS cluster name {name!r} must be 1-100 of [A-Za-z0-9_-]")
            account = self._ref(m["account"], accounts, "account", "environments.yaml accounts")
            if (account, name) in eks_names:
                raise m["name"].error(
                    f"cluster {name!r} in account {account!r} is also declared as {eks_names[(account, name)]!r}"
                )
            eks_names[(account, name)] = cid
            node_roles: list[NodeRole] = []
            seen_arns: dict[str, str] = {}
            for rnode in m["node_roles"].items() if "node_roles" in m else []:
                r = rnode.mapping({"arn", "type", "eks_managed"}, required=("arn",))
                arn = self._arn(r["arn"], ("role",))
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
            keep = tuple(self._arn(n, ("role",)) for n in m["keep_map_roles"].items()) if "keep_map_roles" in m else ()
            break_glass = self._arn(m["break_glass_role"], ("role",)) if "break_glass_role" in m else None
            out[cid] = Cluster(
                id=cid,
                name=name,
                account=account,
                # A canonical order, not the config's: reordering the list must not change aws-auth (an empty
                # preview). EC2, then Windows, then Fargate roles (NodeType's order), each kind by ARN.
                node_roles=tuple(sorted(node_roles, key=_node_role_order)),
                keep_map_roles=keep,
                break_glass_role_arn=break_glass,
                home_environment=m["home_environment"].string().lower() if "home_environment" in m else "",
            )
            cluster_nodes[cid] = cnode
        return out

    def _environments(
        self, node: Node, accounts: dict[str, Any], clusters: dict[str, Cluster]
    ) -> tuple[dict[str, Environment], dict[str, Node]]:
        out: dict[str, Environment] = {}
        nodes: dict[str, Node] = {}
        for eid, enode in unique_ids(node, "environment"):
            m = enode.mapping({"account", "cluster"}, required=("account", "cluster"))
            account = self._ref(m["account"], accounts, "account", "environments.yaml accounts")
            cluster = self._ref(m["cluster"], clusters, "cluster", "environments.yaml clusters")
            if clusters[cluster].account != account:
                raise m["cluster"].error(
                    f"cluster {cluster!r} is in account {clusters[cluster].account!r}, not {account!r}"
                )
            out[eid] = Environment(id=eid, account=account, cluster=cluster)
            nodes[eid] = enode
        if not out:
            raise node.error("declare at least one environment")
        return out, nodes

    def _home_environments(
        self, raw: dict[str, tuple[str, Quotas, str | None, Node]], environments: dict[str, Environment]
    ) -> dict[str, Account]:
        out: dict[str, Account] = {}
        for aid, (number, quotas, declared_home, anode) in raw.items():
            in_account = [e.id for e in environments.values() if e.account == aid]
            if not in_account:
                raise anode.error("no environment uses this account; remove it or add an environment")
            home = _resolve_home(
                anode, declared_home, in_account, "account", "the account's IAM groups and memberships"
            )
            out[aid] = Account(id=aid, account_id=number, quotas=quotas, home_environment=home)
        return out

    # teams.yaml / projects.yaml ------------------------------------------------------------------------------------

    def _teams(self, node: Node, role_settings: RoleSettings) -> dict[str, Team]:
        out: dict[str, Team] = {}
        for tid, tnode in unique_ids(node, "team"):
            m = tnode.mapping({"members", "description"}, required=("members",))
            if "description" in m:
                m["description"].string()
            members: list[str] = []
            seen: dict[str, str] = {}
            for mnode in m["members"].items():
                user = mnode.string()
                problem = names.iam_name_problem(user, names.USER_NAME_MAX, "IAM user name")
                if problem:
                    raise mnode.error(problem)
                if role_settings.session_name_condition and len(user) < names.SESSION_NAME_MIN:
                    raise mnode.error(
                        f"IAM user name {user!r} is shorter than {names.SESSION_NAME_MIN} characters and can never be "
                        "a role session name, so the session-name trust condition would lock it out; rename the user"
                    )
                if user.lower() in seen:
                    raise mnode.error(f"user {user!r} is listed twice (also {seen[user.lower()]!r}; IAM ignores case)")
                seen[user.lower()] = user
                members.append(user)
            out[tid] = Team(id=tid, members=tuple(members))
        return out

    def _projects(self, node: Node, teams: dict[str, Team], environments: dict[str, Environment]) -> dict[str, Project]:
        out: dict[str, Project] = {}
        for pid, pnode in unique_ids(node, "project"):
            m = pnode.mapping({"owner", "environments", "description"}, required=("owner", "environments"))
            if "description" in m:
                m["description"].string()
            owner = self._ref(m["owner"], teams, "team", "teams.yaml")
            envs: list[str] = []
            for enode in m["environments"].items():
                env = self._ref(enode, environments, "environment", "environments.yaml")
                if env in envs:
                    raise enode.error(f"environment {env!r} is listed twice")
                envs.append(env)
            out[pid] = Project(id=pid, owner=owner, environments=tuple(envs))
        return out

    # access.yaml ---------------------------------------------------------------------------------------------------

    def _rules(self, node: Node, allow_escalation: bool, cluster_scope: bool) -> tuple[PolicyRule, ...]:
        rules: list[PolicyRule] = []
        for rnode in node.items():
            m = rnode.mapping({"api_groups", "resources", "verbs"}, required=("api_groups", "resources", "verbs"))
            groups = []
            for g in m["api_groups"].items():
                if not isinstance(g.value, str):
                    raise g.error('API group must be a string ("" is the core group)')
                groups.append(g.value)
            resources = [n.string() for n in m["resources"].strings()]
            verbs = [n.string() for n in m["verbs"].strings()]
            for i, verb in enumerate(verbs):
                if verb not in KNOWN_VERBS:
                    raise (
                        m["verbs"]
                        .child(i, verb)
                        .error(f"unknown verb {verb!r}; expected one of {', '.join(sorted(KNOWN_VERBS))}")
                    )
            for i, resource in enumerate(resources):
                rn = m["resources"].child(i, resource)
                for group in groups:
                    known = KNOWN_RESOURCES.get(group)
                    if resource == "*" or group == "*":
                        continue
                    if known is not None and resource not in known:
                        hint = f" (did you mean {resource + 's'!r}?)" if resource + "s" in known else ""
                        raise rn.error(
                            f"{resource!r} is not a resource of API group {group or 'core'!r}{hint}; "
                            "RBAC uses plural resource names and would grant nothing"
                        )
                    if known is None and not names.RFC1123_LABEL_RE.match(resource.split("/")[0]):
                        raise rn.error(f"{resource!r} is not a valid resource name")
                    if not cluster_scope and (group, resource) in CLUSTER_SCOPED:
                        raise rn.error(f"{resource!r} is cluster-scoped; a namespaced Role cannot grant it")
            rule = PolicyRule(tuple(groups), tuple(sorted(resources)), tuple(sorted(verbs)))
            danger = dangerous_grants((rule,))
            if danger and not allow_escalation:
                raise rnode.error(
                    f"grants {', '.join(danger)}, an escalation path; "
                    "set allow_escalation: true on the level if that is really intended"
                )
            rules.append(rule)
        if not rules:
            raise node.error("a level needs at least one rule")
        return tuple(rules)

    def _custom_levels(self, node: Node) -> dict[str, AccessLevel]:
        out: dict[str, AccessLevel] = {}
        for lid, lnode in unique_ids(node, "level"):
            if lid in BUILTIN_LEVELS:
                raise lnode.error(f"{lid!r} is a built-in level (view, operate, deploy, admin); pick another id")
            m = lnode.mapping({"rules", "allow_escalation", "description"}, required=("rules",))
            if "description" in m:
                m["description"].string()
            allow = m["allow_escalation"].boolean() if "allow_escalation" in m else False
            out[lid] = AccessLevel(lid, self._rules(m["rules"], allow, cluster_scope=False), builtin=False)
        return out

    def _grants(
        self, node: Node, teams: dict[str, Team], projects: dict[str, Project], levels: dict[str, AccessLevel]
    ) -> tuple[Grant, ...]:
        grants: list[Grant] = []
        for key, tnode in node.mapping().items():
            team = self._ref(tnode, teams, "team", "teams.yaml", key=key)
            for pkey, pnode in tnode.mapping().items():
                project = self._ref(pnode, projects, "project", "projects.yaml", key=pkey)
                for ekey, enode in pnode.mapping().items():
                    env = ekey.lower()
                    if env not in projects[project].environments:
                        raise enode.error(
                            f"project {project!r} does not run in environment {ekey!r} "
                            f"(its environments: {', '.join(projects[project].environments)})"
                        )
                    level = enode.string().lower()
                    if level not in levels:
                        raise enode.error(
                            f"unknown access level {level!r}; expected one of {', '.join(sorted(levels))}"
                        )
                    grants.append(Grant(team=team, project=project, environment=env, level=level))
        return tuple(sorted(grants, key=lambda g: (g.environment, g.project, g.level, g.team)))

    def _cluster_admins(self, node: Node, teams: dict[str, Team]) -> tuple[tuple[str, ...], str | None]:
        m = node.mapping({"teams", "break_glass_role"})
        admin_teams = (
            tuple(sorted({self._ref(n, teams, "team", "teams.yaml") for n in m["teams"].items()}))
            if "teams" in m
            else ()
        )
        break_glass = self._arn(m["break_glass_role"], ("role",)) if "break_glass_role" in m else None
        return admin_teams, break_glass

    def _monitoring(self, node: Node) -> Monitoring:
        m = node.mapping({"trusted_roles", "trusted_services", "extra_rules"})
        roles = tuple(self._arn(n, ("role",)) for n in m["trusted_roles"].items()) if "trusted_roles" in m else ()
        services: list[str] = []
        for n in m["trusted_services"].items() if "trusted_services" in m else []:
            service = n.string()
            if "*" in service or not service.endswith(".amazonaws.com"):
                raise n.error(f"{service!r} is not an AWS service principal like pods.eks.amazonaws.com")
            services.append(service)
        if not roles and not services:
            raise node.error("monitoring needs trusted_roles or trusted_services (who runs the monitoring system)")
        extra: tuple[PolicyRule, ...] = ()
        if "extra_rules" in m:
            # Checked against monitoring's own limits below (there is no allow_escalation for monitoring).
            extra = self._rules(m["extra_rules"], allow_escalation=True, cluster_scope=True)
            for rnode in m["extra_rules"].items():
                self._read_only_rule(rnode.mapping())
        return Monitoring(trusted_roles=roles, trusted_services=tuple(sorted(services)), extra_rules=extra)

    @staticmethod
    def _read_only_rule(rule: dict[str, Node]) -> None:
        """Monitoring is bound cluster-wide: reads only, nothing that reveals secrets or reaches a shell."""
        for rnode in rule["resources"].items():
            if rnode.value in MONITORING_FORBIDDEN:
                raise rnode.error(
                    f"monitoring may not have {rnode.value!r}: bound cluster-wide, it would reveal secrets or "
                    "reach a shell in every namespace"
                )
        for vnode in rule["verbs"].items():
            if vnode.value not in READ_VERBS:
                raise vnode.error(
                    f"monitoring is read-only: verb {vnode.value!r} is not allowed (only get, list, watch)"
                )
        for gnode in rule["api_groups"].items():
            if gnode.value == "*":
                raise gnode.error("monitoring may not use API group '*'; name the API groups it reads")

    def _ci(self, node: Node, projects: dict[str, Project]) -> dict[str, CiDeployer]:
        out: dict[str, CiDeployer] = {}
        for cid, cnode in unique_ids(node, "CI deployer"):
            m = cnode.mapping(
                {"trusted_role", "github", "deploys", "service_accounts", "cluster_role_binding"}, required=("deploys",)
            )
            if "cluster_role_binding" in m:
                raise m["cluster_role_binding"].error(
                    "CI deployers are bound per namespace only; a ClusterRoleBinding would reach every namespace"
                )
            trusted = self._arn(m["trusted_role"], ("role",)) if "trusted_role" in m else None
            github = None
            if "github" in m:
                g = m["github"].mapping(
                    {"repository", "branch", "environment", "provider_arn"}, required=("repository",)
                )
                repo = g["repository"].string()
                if repo.count("/") != 1 or "*" in repo or " " in repo:
                    raise g["repository"].error(f"{repo!r} must be owner/name, without wildcards")
                branch = g["branch"].string() if "branch" in g else None
                environment = g["environment"].string() if "environment" in g else None
                if branch and "*" in branch:
                    raise g["branch"].error("wildcards in the branch would let any matching branch deploy; name one")
                if branch and environment:
                    raise m["github"].error(
                        "set branch or environment, not both: a job in a GitHub environment gets the token sub "
                        "repo:<owner>/<name>:environment:<name>, which does not contain the branch"
                    )
                if not branch and not environment:
                    raise m["github"].error(
                        "restrict the token's sub with branch or environment "
                        "(otherwise any workflow of the repository could deploy)"
                    )
                provider = None
                if "provider_arn" in g:
                    provider = g["provider_arn"].string()
                    if ":oidc-provider/" not in provider:
                        raise g["provider_arn"].error(f"{provider!r} is not an IAM OIDC provider ARN")
                github = GithubOidc(repository=repo, branch=branch, environment=environment, provider_arn=provider)
            if (trusted is None) == (github is None):
                raise cnode.error("set exactly one of trusted_role (a build-agent role) or github (OIDC)")
            deploys: list[tuple[str, str]] = []
            for pkey, pnode in m["deploys"].mapping().items():
                project = self._ref(pnode, projects, "project", "projects.yaml", key=pkey)
                for enode in pnode.items():
                    env = enode.string().lower()
                    if env not in projects[project].environments:
                        raise enode.error(
                            f"project {project!r} does not run in environment {env!r} "
                            f"(its environments: {', '.join(projects[project].environments)})"
                        )
                    deploys.append((project, env))
            service_accounts = m["service_accounts"].boolean() if "service_accounts" in m else False
            out[cid] = CiDeployer(
                id=cid,
                trusted_role_arn=trusted,
                github=github,
                deploys=tuple(sorted(set(deploys))),
                service_accounts=service_accounts,
            )
        return out

    def _map_users(self, node: Node, clusters: dict[str, Cluster]) -> dict[str, tuple[MapUser, ...]]:
        out: dict[str, tuple[MapUser, ...]] = {}
        for key, cnode in node.mapping().items():
            cluster = self._ref(cnode, clusters, "cluster", "environments.yaml clusters", key=key)
            entries = []
            for unode in cnode.items():
                u = unode.mapping({"userarn", "username", "groups"}, required=("userarn", "username", "groups"))
                arn = self._arn(u["userarn"], ("user",))
                username = u["username"].string()
                groups = tuple(n.string() for n in u["groups"].strings())
                for i, group in enumerate(groups):
                    problem = names.human_group_problem(group)
                    if problem:
                        raise u["groups"].child(i, group).error(problem)
                entries.append(MapUser(user_arn=arn, username=username, groups=groups))
            out[cluster] = tuple(sorted(entries, key=lambda e: e.user_arn.lower()))
        return out

    # cross-object checks -------------------------------------------------------------------------------------------

    def _ref(self, node: Node, table: dict[str, Any], what: str, where: str, key: str | None = None) -> str:
        raw = key if key is not None else node.string()
        ref = raw.lower()
        if ref not in table:
            known = ", ".join(sorted(table)) or "none"
            raise node.error(f"unknown {what} {raw!r}; declare it in {where} (known: {known})")
        return ref

    def _check_derived_names(self, org: Organisation, access: dict[str, Node], env_nodes: dict[str, Node]) -> None:
        """Names the planner will derive: valid for IAM, Kubernetes and EKS, and unique ignoring case."""
        naming = org.naming
        grants_node = access["grants"]
        role_names: dict[tuple[str, str], tuple[str, str]] = {}  # (account, lower name) -> (name, what)
        namespaces: dict[str, tuple[str, str]] = {}

        def claim_role(account: str, name: str, what: str, node: Node, template_key: str = "role") -> None:
            problem = names.iam_name_problem(name, names.ROLE_NAME_MAX, "role name")
            if problem:
                raise node.error(f"{problem}; shorten the ids or the naming.{template_key} template")
            key = (account, name.lower())
            if key in role_names and role_names[key][1] != what:
                other_name, other_what = role_names[key]
                same_place = other_what.rsplit("/", 1)[0] == what.rsplit("/", 1)[0]
                fix = (
                    "grant one level per project-environment, or put {level} in naming.role and naming.kubernetes_group"
                    if same_place
                    else "change the naming templates so they tell these apart"
                )
                raise node.error(
                    f"role name {name!r} ({what}) collides with {other_name!r} ({other_what}); IAM names are unique "
                    f"ignoring case: {fix}"
                )
            role_names[key] = (name, what)

        for project in org.projects.values():
            for env in project.environments:
                ns = names.namespace(naming, project.id, env)
                pnode = Node(org.files["projects.yaml"], f"projects.{project.id}.environments", None)
                problem = names.namespace_problem(ns)
                if problem:
                    raise pnode.error(problem)
                if ns in namespaces:
                    raise pnode.error(f"namespace {ns!r} of {project.id}/{env} collides with {namespaces[ns][1]}")
                namespaces[ns] = (ns, f"{project.id}/{env}")
                for value in (project.id, env, project.owner):
                    problem = names.label_value_problem(value)
                    if problem:
                        raise pnode.error(problem)

        for grant in org.grants:
            gnode = grants_node.child(grant.team, None).child(grant.project, None).child(grant.environment, grant.level)
            name = names.role_name(naming, grant.project, grant.environment, grant.level)
            account = org.environments[grant.environment].account
            claim_role(account, name, f"{grant.project}/{grant.environment}/{grant.level}", gnode)
            kgroup = names.kubernetes_group(naming, grant.project, grant.environment, grant.level)
            username = names.kubernetes_username(naming, grant.project, grant.environment, grant.level)
            for value, template_key in ((kgroup, "kubernetes_group"), (username, "username")):
                problem = names.reserved_prefix_problem(value, KUBERNETES_NAME_KEYS[template_key])
                if template_key == "kubernetes_group":
                    problem = names.human_group_problem(value) or problem
                if problem:
                    raise gnode.error(f"{problem}; rename the project or change naming.{template_key} in settings.yaml")

        for environment in org.environments.values():
            enode = env_nodes[environment.id]
            eid, account = environment.id, environment.account
            if org.admin_teams:
                claim_role(
                    account, names.fill(naming.admin_role, env=eid), f"{eid} cluster admins", enode, "admin_role"
                )
            if org.monitoring is not None:
                claim_role(
                    account, names.fill(naming.monitoring_role, env=eid), f"{eid} monitoring", enode, "monitoring_role"
                )
            for ci in org.ci.values():
                if any(e == eid for _, e in ci.deploys):
                    cnode = access["ci"].child(ci.id, None)
                    claim_role(
                        account, names.fill(naming.ci_role, ci=ci.id, env=eid), f"CI {ci.id} in {eid}", cnode, "ci_role"
                    )
                    group = names.fill(naming.ci_group, ci=ci.id)
                    username = names.fill(naming.ci_username, ci=ci.id)
                    problem = (
                        names.human_group_problem(group)
                        or names.reserved_prefix_problem(group, "Kubernetes group")
                        or names.reserved_prefix_problem(username, "Kubernetes username")
                    )
                    if problem:
                        raise cnode.error(f"{problem}; rename the CI deployer or change naming in settings.yaml")

        # IAM role names are unique per account whatever the path, and aws-auth compares ARNs without the path:
        # a role named in config (node, break-glass, trusted...) may not share a name with a role we create.
        account_by_number = {a.account_id: a.id for a in org.accounts.values()}
        for arn, node in self.role_refs:
            match = names.ARN_RE.match(arn)
            if match is None or match.group(3) not in account_by_number:
                continue
            key = (account_by_number[match.group(3)], match.group(5).rsplit("/", 1)[-1].lower())
            if key in role_names:
                name, what = role_names[key]
                raise node.error(
                    f"{arn!r} has the name of the role eks-access creates for {what} ({name!r}); IAM role names "
                    "are unique per account whatever the path, and aws-auth compares ARNs without it: rename one"
                )

        group_names: dict[tuple[str, str], str] = {}
        for team in org.teams.values():
            name = names.iam_group_name(naming, team.id)
            problem = names.iam_name_problem(name, names.GROUP_NAME_MAX, "IAM group name")
            tnode = Node(org.files["teams.yaml"], f"teams.{team.id}", None)
            if problem:
                raise tnode.error(problem)
            for account in org.accounts:
                key = (account, name.lower())
                if key in group_names:
                    raise tnode.error(
                        f"IAM group name {name!r} is also that of team {group_names[key]!r} (IAM names are unique "
                        "ignoring case); use {team} in naming.iam_group"
                    )
                group_names[key] = team.id


def load(config_dir: Path | str, label: str | None = None) -> Organisation:
    """Load and validate the organisation in ``config_dir``; raises ConfigError."""
    path = Path(config_dir)
    return Loader(path, label if label is not None else str(config_dir).rstrip("/")).load()


def _resolve_home(node: Node, declared: str | None, members: list[str], what: str, owns: str) -> str:
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
