"""Checks across files: the names the planner will derive are valid for IAM, Kubernetes and EKS, and unique.

They run once the whole organisation is loaded, because a name combines ids from several files (a role name
is a project, an environment and a template from settings.yaml).
"""

from __future__ import annotations

from access.core import names
from access.core.config import separation
from access.core.config.nodes import Node
from access.core.config.settings import KUBERNETES_NAME_KEYS
from access.core.model import Organisation
from access.errors import ConfigError


class _RoleNames:
    """Role names per account, compared ignoring case as IAM does."""

    def __init__(self) -> None:
        self.claimed: dict[tuple[str, str], tuple[str, str]] = {}  # (account, lower name) -> (name, what)

    def claim(self, account: str, name: str, what: str, node: Node, template_key: str = "role") -> None:
        problem = names.iam_name_problem(name, names.ROLE_NAME_MAX, "role name")
        if problem:
            raise node.error(f"{problem}; shorten the ids or the naming.{template_key} template")
        key = (account, name.lower())
        if key in self.claimed and self.claimed[key][1] != what:
            other_name, other_what = self.claimed[key]
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
        self.claimed[key] = (name, what)


def check(
    org: Organisation, access: dict[str, Node], env_nodes: dict[str, Node], role_refs: list[tuple[str, Node]]
) -> None:
    """Names the planner will derive: valid for IAM, Kubernetes and EKS, and unique ignoring case."""
    role_names = _RoleNames()
    _namespaces(org)
    _grant_names(org, access["grants"], role_names)
    _environment_roles(org, access, env_nodes, role_names)
    _referenced_roles(org, role_refs, role_names)
    _group_names(org)
    _foreign_roots(org)
    separation.check(org, access)


def _namespaces(org: Organisation) -> None:
    namespaces: dict[str, str] = {}
    for project in org.projects.values():
        for env in project.environments:
            ns = names.namespace(org.naming, project.id, env)
            pnode = Node(org.files["projects.yaml"], f"projects.{project.id}.environments", None)
            problem = names.namespace_problem(ns)
            if problem:
                raise pnode.error(problem)
            if ns in namespaces:
                raise pnode.error(f"namespace {ns!r} of {project.id}/{env} collides with {namespaces[ns]}")
            namespaces[ns] = f"{project.id}/{env}"
            for value in (project.id, env, project.owner):
                problem = names.label_value_problem(value)
                if problem:
                    raise pnode.error(problem)


def _grant_names(org: Organisation, grants_node: Node, role_names: _RoleNames) -> None:
    naming = org.naming
    for grant in org.grants:
        gnode = grants_node.child(grant.team, None).child(grant.project, None).child(grant.environment, grant.level)
        name = names.role_name(naming, grant.project, grant.environment, grant.level)
        account = org.environments[grant.environment].account
        role_names.claim(account, name, f"{grant.project}/{grant.environment}/{grant.level}", gnode)
        kgroup = names.kubernetes_group(naming, grant.project, grant.environment, grant.level)
        username = names.kubernetes_username(naming, grant.project, grant.environment, grant.level)
        for value, template_key in ((kgroup, "kubernetes_group"), (username, "username")):
            problem = names.reserved_prefix_problem(value, KUBERNETES_NAME_KEYS[template_key])
            if template_key == "kubernetes_group":
                problem = names.human_group_problem(value) or problem
            if problem:
                raise gnode.error(f"{problem}; rename the project or change naming.{template_key} in settings.yaml")


def _environment_roles(
    org: Organisation, access: dict[str, Node], env_nodes: dict[str, Node], role_names: _RoleNames
) -> None:
    naming = org.naming
    for environment in org.environments.values():
        enode = env_nodes[environment.id]
        eid, account = environment.id, environment.account
        if org.admin_teams:
            role_names.claim(
                account, names.fill(naming.admin_role, env=eid), f"{eid} cluster admins", enode, "admin_role"
            )
        if org.monitoring is not None:
            role_names.claim(
                account, names.fill(naming.monitoring_role, env=eid), f"{eid} monitoring", enode, "monitoring_role"
            )
        for ci in org.ci.values():
            if not any(e == eid for _, e in ci.deploys):
                continue
            cnode = access["ci"].child(ci.id, None)
            ci_role = names.fill(naming.ci_role, ci=ci.id, env=eid)
            role_names.claim(account, ci_role, f"CI {ci.id} in {eid}", cnode, "ci_role")
            group = names.fill(naming.ci_group, ci=ci.id)
            username = names.fill(naming.ci_username, ci=ci.id)
            problem = (
                names.human_group_problem(group)
                or names.reserved_prefix_problem(group, "Kubernetes group")
                or names.reserved_prefix_problem(username, "Kubernetes username")
            )
            if problem:
                raise cnode.error(f"{problem}; rename the CI deployer or change naming in settings.yaml")


def _referenced_roles(org: Organisation, role_refs: list[tuple[str, Node]], role_names: _RoleNames) -> None:
    """IAM role names are unique per account whatever the path, and aws-auth compares ARNs without the path:
    a role named in config (node, break-glass, trusted...) may not share a name with a role we create."""
    account_by_number = {a.account_id: a.id for a in org.accounts.values()}
    for arn, node in role_refs:
        match = names.ARN_RE.match(arn)
        if match is None or match.group(3) not in account_by_number:
            continue
        key = (account_by_number[match.group(3)], match.group(5).rsplit("/", 1)[-1].lower())
        if key in role_names.claimed:
            name, what = role_names.claimed[key]
            raise node.error(
                f"{arn!r} has the name of the role eks-access creates for {what} ({name!r}); IAM role names "
                "are unique per account whatever the path, and aws-auth compares ARNs without it: rename one"
            )


def _foreign_roots(org: Organisation) -> None:
    """Trusting another account's root admits every principal that account allows: a third party's customers
    too, unless the role requires the ExternalId that party gives each customer (IAM User Guide, "The confused
    deputy problem"). Required, or acknowledged per entry."""
    ours = {a.account_id for a in org.accounts.values()}
    acknowledged = set(org.roles.trusted_without_external_id)
    for index, arn in enumerate(org.roles.trusted_principals):
        account, resource = arn.split(":")[4], arn.split(":")[5]
        if resource == "root" and account not in ours and org.roles.external_id is None and arn not in acknowledged:
            raise ConfigError(
                org.files["settings.yaml"],
                f"roles.trusted_principals[{index}]",
                f"{arn} trusts every principal of account {account}, which config does not own: set "
                "roles.external_id (the confused-deputy guard that party gives you), or write "
                "{arn: ..., without_external_id: <why it is safe>} to acknowledge it",
            )


def _group_names(org: Organisation) -> None:
    group_names: dict[tuple[str, str], str] = {}
    for team in org.teams.values():
        name = names.iam_group_name(org.naming, team.id)
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
