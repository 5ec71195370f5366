"""kubeconfig documents whose users sign EKS tokens on demand (no token is ever stored).

Two kinds of user entry:

- :func:`exec_user`: ``aws eks get-token`` (optionally ``--role-arn``), for the Pulumi Kubernetes provider.
  ``aws eks get-token`` always names the role session ``EKSGetTokenAuth`` (awscli
  ``customizations/eks/get_token.py``; ``--role-session-name`` is rejected as an unknown option, aws-cli
  issue #8976), so it cannot assume our human roles, whose trust policies require the session name to be
  the caller's IAM user name.
- :func:`authenticator_user`: ``aws-iam-authenticator token --role … --session-name <IAM user>``, which can
  set the session name; and :func:`aws_profile_user`, ``aws eks get-token --profile`` with a named AWS CLI
  profile that sets ``role_session_name`` (botocore's assume-role provider honours it).

The rest is the pure half of ``python -m access kubeconfig``: which contexts a person gets, and merging
them into an existing kubeconfig without touching anything else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from access.core.model import Organisation, RoleKind
from access.core.plan.types import EnvironmentPlan, RolePlan
from access.errors import KubeconfigError

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
AUTHENTICATOR = "aws-iam-authenticator"
AUTHENTICATOR_HINT = (
    "aws-iam-authenticator signs EKS tokens with the role session name the eks-access roles require: "
    "https://github.com/kubernetes-sigs/aws-iam-authenticator/releases "
    "(or regenerate the contexts with: python -m access kubeconfig --auth aws-profile)"
)
AUTH_METHODS = ("authenticator", "aws-profile")
SECTIONS = ("clusters", "contexts", "users")
_SECTION_KEY = {"clusters": "cluster", "contexts": "context", "users": "user"}


def exec_user(cluster_name: str, region: str | None, role_arn: str | None) -> dict:
    """``aws eks get-token`` for machines (its role session name is fixed to ``EKSGetTokenAuth``)."""
    args = ["--region", region] if region else []
    args += ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"]
    if role_arn:
        args += ["--role-arn", role_arn]
    return {
        "exec": {
            "apiVersion": EXEC_API_VERSION,
            "command": "aws",
            "args": args,
            "interactiveMode": "Never",
        }
    }


def exec_kubeconfig(endpoint: str, ca_data: str, cluster_name: str, region: str | None, role_arn: str | None) -> str:
    """A single-context kubeconfig for the Pulumi Kubernetes provider."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": cluster_name,
            "preferences": {},
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "users": [{"name": cluster_name, "user": exec_user(cluster_name, region, role_arn)}],
        },
        sort_keys=True,
    )


def authenticator_user(cluster_name: str, region: str | None, role_arn: str, session_name: str) -> dict:
    """``aws-iam-authenticator token``: assumes ``role_arn`` as session ``session_name`` and signs a token."""
    args = ["token", "--cluster-id", cluster_name, "--role", role_arn, "--session-name", session_name]
    if region:
        args += ["--region", region]
    return {
        "exec": {
            "apiVersion": EXEC_API_VERSION,
            "command": AUTHENTICATOR,
            "args": args,
            # MFA-protected source profiles prompt for a code on the terminal.
            "interactiveMode": "IfAvailable",
            "installHint": AUTHENTICATOR_HINT,
        }
    }


def aws_profile_user(cluster_name: str, region: str | None, profile: str) -> dict:
    """``aws eks get-token`` under a named profile that assumes the role with the right session name."""
    args = ["--profile", profile]
    if region:
        args += ["--region", region]
    args += ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"]
    return {
        "exec": {
            "apiVersion": EXEC_API_VERSION,
            "command": "aws",
            "args": args,
            "interactiveMode": "IfAvailable",
        }
    }


def aws_profile_section(profile: str, role_arn: str, session_name: str, source_profile: str, region: str | None) -> str:
    """The ``~/.aws/config`` section :func:`aws_profile_user` relies on."""
    lines = [
        f"[profile {profile}]",
        f"role_arn = {role_arn}",
        f"source_profile = {source_profile}",
        f"role_session_name = {session_name}",
    ]
    if region:
        lines.append(f"region = {region}")
    return "\n".join(lines) + "\n"


def cluster_arn(region: str | None, account_id: str, cluster_name: str) -> str | None:
    return f"arn:aws:eks:{region}:{account_id}:cluster/{cluster_name}" if region else None


@dataclass(frozen=True)
class ClusterEndpoint:
    """How to reach one EKS cluster."""

    name: str  # EKS cluster name
    entry: str  # kubeconfig cluster entry name: the cluster ARN, as `aws eks update-kubeconfig` names it
    server: str
    ca_data: str
    region: str | None


@dataclass(frozen=True)
class PersonContext:
    """One kubeconfig context for one person: a role they may assume, in its namespace."""

    name: str
    role_key: str
    role_arn: str
    namespace: str | None  # None for cluster-wide roles (cluster admins)
    user_entry: str
    session_name: str  # the person's IAM user name, as the trust policy requires


def find_member(org: Organisation, user: str) -> tuple[str, tuple[str, ...]]:
    """The IAM user name as written in config and the teams it is in (IAM compares names ignoring case)."""
    teams = []
    canonical = None
    for team in sorted(org.teams.values(), key=lambda t: t.id):
        for member in team.members:
            if member.lower() == user.lower():
                canonical = canonical or member
                teams.append(team.id)
    return (canonical or user), tuple(teams)


def roles_for_person(plan: EnvironmentPlan, teams: Iterable[str]) -> list[RolePlan]:
    """The roles of this environment the teams' IAM group policies allow assuming."""
    teams = set(teams)
    keys = {key for policy in plan.group_policies if policy.team in teams for key in policy.role_keys}
    return [role for role in plan.roles if role.key in keys]


def context_name(plan: EnvironmentPlan, role: RolePlan) -> str:
    """``<namespace>`` per project role (``-<level>`` added when roles are split by level); admins get
    ``<env>-cluster-admin``."""
    if role.kind == RoleKind.HUMAN:
        namespace = plan.namespaces[role.project or ""]
        split = len({r.level for r in plan.roles if r.kind == RoleKind.HUMAN and r.project == role.project}) > 1
        return f"{namespace}-{role.level}" if split else namespace
    return f"{plan.environment}-cluster-admin"


def person_contexts(
    plan: EnvironmentPlan, roles: Iterable[RolePlan], role_arns: Mapping[str, str], session_name: str
) -> list[PersonContext]:
    contexts = []
    for role in roles:
        name = context_name(plan, role)
        contexts.append(
            PersonContext(
                name=name,
                role_key=role.key,
                role_arn=role_arns[role.key],
                namespace=plan.namespaces[role.project] if role.kind == RoleKind.HUMAN and role.project else None,
                user_entry=f"{session_name}@{name}",
                session_name=session_name,
            )
        )
    return sorted(contexts, key=lambda c: c.name)


def aws_profile_name(context: PersonContext) -> str:
    return f"eks-access-{context.name}"


def entries(
    cluster: ClusterEndpoint, contexts: Iterable[PersonContext], auth: str = "authenticator"
) -> dict[str, list[dict[str, Any]]]:
    """The named kubeconfig entries for ``contexts``: one cluster, a context and a user per role."""
    clusters = [
        {"name": cluster.entry, "cluster": {"server": cluster.server, "certificate-authority-data": cluster.ca_data}}
    ]
    ctx_entries: list[dict[str, Any]] = []
    users: list[dict[str, Any]] = []
    for ctx in contexts:
        context: dict[str, Any] = {"cluster": cluster.entry, "user": ctx.user_entry}
        if ctx.namespace:
            context["namespace"] = ctx.namespace
        ctx_entries.append({"name": ctx.name, "context": context})
        if auth == "aws-profile":
            user = aws_profile_user(cluster.name, cluster.region, aws_profile_name(ctx))
        else:
            user = authenticator_user(cluster.name, cluster.region, ctx.role_arn, ctx.session_name)
        users.append({"name": ctx.user_entry, "user": user})
    return {"clusters": clusters, "contexts": ctx_entries, "users": users}


def parse(text: str, label: str) -> dict[str, Any]:
    """An existing kubeconfig, checked enough that merging cannot lose anything."""
    try:
        document = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise KubeconfigError(
            f"{label}: not valid YAML{where}; fix it or pass --kubeconfig to write elsewhere"
        ) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise KubeconfigError(f"{label}: not a kubeconfig (the document is not a mapping)")
    kind = document.get("kind")
    if kind not in (None, "Config"):
        raise KubeconfigError(f"{label}: not a kubeconfig (kind is {kind!r}, expected Config)")
    for section in SECTIONS:
        items = document.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            raise KubeconfigError(f"{label}: {section} must be a list")
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise KubeconfigError(f"{label}: {section}[{index}] has no name; fix it or pass --kubeconfig")
    return document


@dataclass(frozen=True)
class Change:
    action: str  # added | updated | unchanged
    section: str  # clusters | contexts | users
    name: str


def merge(
    existing: Mapping[str, Any], wanted: Mapping[str, list[dict[str, Any]]]
) -> tuple[dict[str, Any], list[Change]]:
    """``existing`` with ``wanted``'s entries added or replaced by name, in place; everything else kept as is.

    Replacing in place (not remove-and-append) keeps the order, so a second run renders the same bytes.
    ``current-context`` is only set when the file has none: running this never switches someone's context.
    """
    document: dict[str, Any] = dict(existing) if existing else {"apiVersion": "v1", "kind": "Config"}
    document.setdefault("apiVersion", "v1")
    document.setdefault("kind", "Config")
    changes: list[Change] = []
    for section in SECTIONS:
        items = [dict(item) for item in (document.get(section) or [])]
        index = {item["name"]: position for position, item in enumerate(items)}
        for entry in wanted.get(section, []):
            name = entry["name"]
            if name in index:
                before = items[index[name]]
                action = "unchanged" if before == entry else "updated"
                items[index[name]] = entry
            else:
                action = "added"
                index[name] = len(items)
                items.append(entry)
            changes.append(Change(action, section, name))
        document[section] = items
    if not document.get("current-context") and wanted.get("contexts"):
        document["current-context"] = wanted["contexts"][0]["name"]
    document.setdefault("preferences", {})
    return document, changes


def stale_contexts(
    document: Mapping[str, Any], cluster_entry: str, session_name: str, keep: Iterable[str]
) -> list[str]:
    """Contexts this tool wrote earlier for the same person and cluster that the config no longer grants."""
    keep = set(keep)
    prefix = f"{session_name}@"
    return sorted(
        item["name"]
        for item in document.get("contexts") or []
        if item["name"] not in keep
        and isinstance(item.get("context"), dict)
        and item["context"].get("cluster") == cluster_entry
        and str(item["context"].get("user", "")).startswith(prefix)
    )


def render(document: Mapping[str, Any]) -> str:
    """YAML as kubectl reads it. Long strings (CA data, hints) are never folded, so output is stable."""
    return yaml.safe_dump(dict(document), sort_keys=False, default_flow_style=False, width=2**31 - 1)
