"""``access.yaml``: grants (team -> project -> environment -> level), cluster admins, monitoring, CI, mapUsers."""

from __future__ import annotations

from dataclasses import dataclass, field

from access.core import names
from access.core.catalog import BUILTIN_LEVELS
from access.core.config import levels as level_config
from access.core.config import settings
from access.core.config.nodes import Node, Source, reference, typed_arn, unique_ids
from access.core.model import (
    AccessLevel,
    CiDeployer,
    Cluster,
    GithubOidc,
    Grant,
    MapUser,
    Monitoring,
    PolicyRule,
    Project,
    Team,
    Trust,
)
from access.core.sensitivity import ANY, READ_VERBS, rule_sensitivity

KEYS = frozenset({"grants", "levels", "cluster_admins", "monitoring", "ci", "map_users"})


@dataclass(frozen=True)
class Access:
    root: dict[str, Node]  # the file's top-level keys, for messages raised after loading
    levels: dict[str, AccessLevel]
    grants: tuple[Grant, ...]
    admin_teams: tuple[str, ...] = ()
    admin_trust: Trust = Trust.MEMBERS
    break_glass_role_arn: str | None = None
    monitoring: Monitoring | None = None
    ci: dict[str, CiDeployer] = field(default_factory=dict)
    map_users: dict[str, tuple[MapUser, ...]] = field(default_factory=dict)


def read(source: Source, teams: dict[str, Team], projects: dict[str, Project], clusters: dict[str, Cluster]) -> Access:
    root = source.root("access.yaml").mapping(KEYS, required=("grants",))
    levels = dict(BUILTIN_LEVELS)
    if "levels" in root:
        levels.update(level_config.custom_levels(root["levels"]))
    admin_teams: tuple[str, ...] = ()
    admin_trust = Trust.MEMBERS
    break_glass = None
    grants = _grants(root["grants"], teams, projects, levels)
    if "cluster_admins" in root:
        admin_teams, admin_trust, break_glass = _cluster_admins(source, root["cluster_admins"], teams)
    return Access(
        root=root,
        levels=levels,
        grants=grants,
        admin_teams=admin_teams,
        admin_trust=admin_trust,
        break_glass_role_arn=break_glass,
        monitoring=_monitoring(source, root["monitoring"]) if "monitoring" in root else None,
        ci=_ci(source, root["ci"], projects) if "ci" in root else {},
        map_users=_map_users(source, root["map_users"], clusters) if "map_users" in root else {},
    )


def _grants(
    node: Node, teams: dict[str, Team], projects: dict[str, Project], levels: dict[str, AccessLevel]
) -> tuple[Grant, ...]:
    grants: list[Grant] = []
    for key, tnode in node.mapping().items():
        team = reference(tnode, teams, "team", "teams.yaml", key=key)
        for pkey, pnode in tnode.mapping().items():
            project = reference(pnode, projects, "project", "projects.yaml", key=pkey)
            for ekey, enode in pnode.mapping().items():
                env = ekey.lower()
                if env not in projects[project].environments:
                    raise enode.error(
                        f"project {project!r} does not run in environment {ekey!r} "
                        f"(its environments: {', '.join(projects[project].environments)})"
                    )
                level = enode.string().lower()
                if level not in levels:
                    raise enode.error(f"unknown access level {level!r}; expected one of {', '.join(sorted(levels))}")
                grants.append(Grant(team=team, project=project, environment=env, level=level))
    return tuple(sorted(grants, key=lambda g: (g.environment, g.project, g.level, g.team)))


def _cluster_admins(source: Source, node: Node, teams: dict[str, Team]) -> tuple[tuple[str, ...], Trust, str | None]:
    m = node.mapping({"teams", "break_glass_role", "trust"})
    admin_teams = (
        tuple(sorted({reference(n, teams, "team", "teams.yaml") for n in m["teams"].items()})) if "teams" in m else ()
    )
    break_glass = source.arn(m["break_glass_role"], ("role",)) if "break_glass_role" in m else None
    # Closed by default: the admin role is cluster-admin, and an open trust would admit any IAM user of the
    # account whose own policies allow sts:AssumeRole (AdministratorAccess, PowerUserAccess, ...).
    admin_trust = settings.trust(source, m["trust"]) if "trust" in m else Trust.MEMBERS
    return admin_teams, admin_trust, break_glass


def _monitoring(source: Source, node: Node) -> Monitoring:
    m = node.mapping({"trusted_roles", "trusted_services", "extra_rules"})
    roles = tuple(source.arn(n, ("role",)) for n in m["trusted_roles"].items()) if "trusted_roles" in m else ()
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
        extra = level_config.rules(m["extra_rules"], allow_escalation=True, cluster_scope=True)
        for rnode in m["extra_rules"].items():
            _read_only_rule(rnode.mapping())
    return Monitoring(trusted_roles=roles, trusted_services=tuple(sorted(services)), extra_rules=extra)


def _read_only_rule(rule: dict[str, Node]) -> None:
    """Monitoring is bound cluster-wide: reads only, nothing that reveals secrets or reaches a shell."""
    groups = [g.value for g in rule["api_groups"].items()]
    for rnode in rule["resources"].items():
        # Any sensitive read, cluster-wide; and a named list, never '*' (a CRD may hold credentials).
        reads = PolicyRule(tuple(groups), (rnode.value,), tuple(sorted(READ_VERBS)))
        if rnode.value == ANY or rule_sensitivity(reads, cluster_wide=True):
            raise rnode.error(
                f"monitoring may not have {rnode.value!r}: bound cluster-wide, it would reveal secrets or "
                "reach a shell in every namespace"
            )
    for vnode in rule["verbs"].items():
        if vnode.value not in READ_VERBS:
            raise vnode.error(f"monitoring is read-only: verb {vnode.value!r} is not allowed (only get, list, watch)")
    for gnode in rule["api_groups"].items():
        if gnode.value == "*":
            raise gnode.error("monitoring may not use API group '*'; name the API groups it reads")


def _ci(source: Source, node: Node, projects: dict[str, Project]) -> dict[str, CiDeployer]:
    out: dict[str, CiDeployer] = {}
    for cid, cnode in unique_ids(node, "CI deployer"):
        m = cnode.mapping(
            {"trusted_role", "github", "deploys", "service_accounts", "cluster_role_binding"}, required=("deploys",)
        )
        if "cluster_role_binding" in m:
            raise m["cluster_role_binding"].error(
                "CI deployers are bound per namespace only; a ClusterRoleBinding would reach every namespace"
            )
        trusted = source.arn(m["trusted_role"], ("role",)) if "trusted_role" in m else None
        github = _github(m["github"]) if "github" in m else None
        if (trusted is None) == (github is None):
            raise cnode.error("set exactly one of trusted_role (a build-agent role) or github (OIDC)")
        out[cid] = CiDeployer(
            id=cid,
            trusted_role_arn=trusted,
            github=github,
            deploys=_deploys(m["deploys"], projects),
            service_accounts=m["service_accounts"].boolean() if "service_accounts" in m else False,
        )
    return out


def _github(node: Node) -> GithubOidc:
    g = node.mapping({"repository", "branch", "environment", "provider_arn"}, required=("repository",))
    repo = g["repository"].string()
    if repo.count("/") != 1 or "*" in repo or " " in repo:
        raise g["repository"].error(f"{repo!r} must be owner/name, without wildcards")
    branch = g["branch"].string() if "branch" in g else None
    environment = g["environment"].string() if "environment" in g else None
    if branch and "*" in branch:
        raise g["branch"].error("wildcards in the branch would let any matching branch deploy; name one")
    if branch and environment:
        raise node.error(
            "set branch or environment, not both: a job in a GitHub environment gets the token sub "
            "repo:<owner>/<name>:environment:<name>, which does not contain the branch"
        )
    if not branch and not environment:
        raise node.error(
            "restrict the token's sub with branch or environment "
            "(otherwise any workflow of the repository could deploy)"
        )
    provider = None
    if "provider_arn" in g:
        example = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
        provider = typed_arn(g["provider_arn"], "oidc-provider", example)
    return GithubOidc(repository=repo, branch=branch, environment=environment, provider_arn=provider)


def _deploys(node: Node, projects: dict[str, Project]) -> tuple[tuple[str, str], ...]:
    deploys: list[tuple[str, str]] = []
    for pkey, pnode in node.mapping().items():
        project = reference(pnode, projects, "project", "projects.yaml", key=pkey)
        for enode in pnode.items():
            env = enode.string().lower()
            if env not in projects[project].environments:
                raise enode.error(
                    f"project {project!r} does not run in environment {env!r} "
                    f"(its environments: {', '.join(projects[project].environments)})"
                )
            deploys.append((project, env))
    return tuple(sorted(set(deploys)))


def _map_users(source: Source, node: Node, clusters: dict[str, Cluster]) -> dict[str, tuple[MapUser, ...]]:
    out: dict[str, tuple[MapUser, ...]] = {}
    for key, cnode in node.mapping().items():
        cluster = reference(cnode, clusters, "cluster", "environments.yaml clusters", key=key)
        entries = []
        for unode in cnode.items():
            u = unode.mapping({"userarn", "username", "groups"}, required=("userarn", "username", "groups"))
            arn = source.arn(u["userarn"], ("user",))
            username = u["username"].string()
            groups = tuple(n.string() for n in u["groups"].strings())
            for i, group in enumerate(groups):
                problem = names.human_group_problem(group)
                if problem:
                    raise u["groups"].child(i, group).error(problem)
            entries.append(MapUser(user_arn=arn, username=username, groups=groups))
        out[cluster] = tuple(sorted(entries, key=lambda e: e.user_arn.lower()))
    return out
