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
from dataclasses import dataclass, replace
from typing import Any

import yaml

from access.core.callers import Admission
from access.core.model import RoleKind
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


def authenticator_user(
    cluster_name: str, region: str | None, role_arn: str, session_name: str, external_id: str | None = None
) -> dict:
    """``aws-iam-authenticator token``: assumes ``role_arn`` as session ``session_name`` (passing the ExternalId the
    trust requires: ``-e/--external-id``, cmd/aws-iam-authenticator/token.go) and signs a token."""
    args = ["token", "--cluster-id", cluster_name, "--role", role_arn, "--session-name", session_name]
    if external_id is not None:
        args += ["--external-id", external_id]
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


def aws_profile_section(
    profile: str,
    role_arn: str,
    session_name: str,
    source_profile: str,
    region: str | None,
    external_id: str | None = None,
    mfa_serial: str | None = None,
) -> str:
    """The ``~/.aws/config`` section :func:`aws_profile_user` relies on: botocore's assume-role provider reads
    ``role_session_name``, ``external_id`` and ``mfa_serial`` (and asks for the MFA code on the terminal)."""
    lines = [
        f"[profile {profile}]",
        f"role_arn = {role_arn}",
        f"source_profile = {source_profile}",
        f"role_session_name = {session_name}",
    ]
    if external_id is not None:
        lines.append(f"external_id = {external_id}")
    if mfa_serial is not None:
        lines.append(f"mfa_serial = {mfa_serial}")
    if region:
        lines.append(f"region = {region}")
    return "\n".join(lines) + "\n"


# The AWS CLI's IAM Identity Center token provider ("Configuring IAM Identity Center authentication with the AWS
# CLI", manual configuration): an [sso-session] section signs in, a profile names the account and permission set.
SSO_REGISTRATION_SCOPES = "sso:account:access"


@dataclass(frozen=True)
class SsoProfile:
    """The AWS CLI profile that signs in through IAM Identity Center as the caller's permission set; the role
    profiles chain from it (``source_profile``)."""

    name: str
    session: str  # the [sso-session <name>] it uses
    account_id: str
    role_name: str  # the permission set's name (the CLI's sso_role_name)
    start_url: str | None = None  # with the region: the [sso-session] section is printed too
    sso_region: str | None = None


def sso_profile_name(plan: EnvironmentPlan, permission_set: str) -> str:
    """``eks-access-sso-<team>-<env>`` for eks-access's own permission sets, else after the permission set."""
    team = next((p.team for p in plan.permission_sets if p.name == permission_set), None)
    return f"eks-access-sso-{team}-{plan.environment}" if team else f"eks-access-sso-{permission_set}"


def sso_sections(sso: SsoProfile, region: str | None) -> list[str]:
    """``[sso-session <name>]`` (when its start URL is known) and the SSO profile, as the AWS CLI reads them."""
    sections = []
    if sso.start_url is not None and sso.sso_region is not None:
        sections.append(
            f"[sso-session {sso.session}]\n"
            f"sso_start_url = {sso.start_url}\n"
            f"sso_region = {sso.sso_region}\n"
            f"sso_registration_scopes = {SSO_REGISTRATION_SCOPES}\n"
        )
    lines = [
        f"[profile {sso.name}]",
        f"sso_session = {sso.session}",
        f"sso_account_id = {sso.account_id}",
        f"sso_role_name = {sso.role_name}",
    ]
    if region:
        lines.append(f"region = {region}")
    sections.append("\n".join(lines) + "\n")
    return sections


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
    placeholder: bool = False  # the offline run's endpoint and CA: nothing can connect to them


OFFLINE_SUFFIX = "-offline"


def offline(cluster: ClusterEndpoint) -> ClusterEndpoint:
    """The offline run's placeholders, under a cluster entry of their own (``eks-dev-offline``, never the cluster
    ARN), so they can never replace the entry of a working cluster."""
    return replace(cluster, entry=f"{cluster.name}{OFFLINE_SUFFIX}", placeholder=True)


@dataclass(frozen=True)
class PersonContext:
    """One kubeconfig context for one person: a role they may assume, in its namespace."""

    name: str
    role_key: str
    role_arn: str
    namespace: str | None  # None for cluster-wide roles (cluster admins)
    user_entry: str
    session_name: str  # the IAM user name as IAM spells it (the trust pins it), or the caller's own session name
    external_id: str | None = None  # the sts:ExternalId the admitting trust statement requires
    mfa: bool = False  # the admitting trust statement requires aws:MultiFactorAuthPresent


def context_name(plan: EnvironmentPlan, role: RolePlan) -> str:
    """``<namespace>`` per project role (``-<level>`` added when roles are split by level); admins get
    ``<env>-cluster-admin``."""
    if role.kind == RoleKind.HUMAN:
        namespace = plan.namespaces[role.project or ""]
        split = len({r.level for r in plan.roles if r.kind == RoleKind.HUMAN and r.project == role.project}) > 1
        return f"{namespace}-{role.level}" if split else namespace
    return f"{plan.environment}-cluster-admin"


def person_contexts(
    plan: EnvironmentPlan, admitted: Iterable[Admission], role_arns: Mapping[str, str], suffix: str = ""
) -> list[PersonContext]:
    """A context per admitted role; ``suffix`` names them apart (the offline run's ``-offline``)."""
    contexts = []
    for admission in admitted:
        role = admission.role
        name = context_name(plan, role) + suffix
        contexts.append(
            PersonContext(
                name=name,
                role_key=role.key,
                role_arn=role_arns[role.key],
                namespace=plan.namespaces[role.project] if role.kind == RoleKind.HUMAN and role.project else None,
                user_entry=f"{admission.session_name}@{name}",
                session_name=admission.session_name,
                external_id=admission.external_id,
                mfa=admission.mfa,
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
            user = authenticator_user(cluster.name, cluster.region, ctx.role_arn, ctx.session_name, ctx.external_id)
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
    existing: Mapping[str, Any],
    wanted: Mapping[str, list[dict[str, Any]]],
    label: str = "kubeconfig",
    placeholder: bool = False,
) -> tuple[dict[str, Any], list[Change]]:
    """``existing`` with ``wanted``'s entries added or replaced by name, in place; everything else kept as is.

    Replacing in place (not remove-and-append) keeps the order, so a second run renders the same bytes.
    ``current-context`` is only set when the file has none: running this never switches someone's context.
    A context of the same name that this tool did not write (its user is not ``<session>@<context>``) is never
    taken over. With ``placeholder``, ``wanted`` holds the offline run's placeholder endpoint: it never replaces a
    cluster with another server or a context of another cluster, and never becomes the current context.
    """
    document: dict[str, Any] = dict(existing) if existing else {"apiVersion": "v1", "kind": "Config"}
    document.setdefault("apiVersion", "v1")
    document.setdefault("kind", "Config")
    _refuse_foreign_entries(document, wanted, label, placeholder)
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
    if not document.get("current-context") and wanted.get("contexts") and not placeholder:
        document["current-context"] = wanted["contexts"][0]["name"]
    document.setdefault("preferences", {})
    return document, changes


def _refuse_foreign_entries(
    document: Mapping[str, Any], wanted: Mapping[str, list[dict[str, Any]]], label: str, placeholder: bool
) -> None:
    existing = {(section, item["name"]): item for section in SECTIONS for item in document.get(section) or []}
    for entry in wanted.get("contexts", []):
        before = existing.get(("contexts", entry["name"]))
        user = _field(before, "context", "user")
        if before is not None and not str(user).endswith(f"@{entry['name']}"):
            raise KubeconfigError(
                f"{label}: context {entry['name']} exists with user {user}, not one eks-access wrote; rename it "
                f"(kubectl config rename-context {entry['name']} <new name>) or pass --kubeconfig FILE"
            )
    if not placeholder:
        return
    for entry in wanted.get("clusters", []):
        before = existing.get(("clusters", entry["name"]))
        server = _field(before, "cluster", "server")
        if before is not None and server != entry["cluster"]["server"]:
            raise KubeconfigError(
                f"{label}: cluster {entry['name']} has server {server}; the offline run would replace it with a "
                "placeholder endpoint: use --dry-run, or --kubeconfig FILE to write elsewhere"
            )
    clusters = {entry["name"] for entry in wanted.get("clusters", [])}
    for entry in wanted.get("contexts", []):
        before = existing.get(("contexts", entry["name"]))
        cluster = _field(before, "context", "cluster")
        if before is not None and cluster not in clusters:
            raise KubeconfigError(
                f"{label}: context {entry['name']} is for cluster {cluster}; the offline run would point it at a "
                "placeholder endpoint: use --dry-run, or --kubeconfig FILE to write elsewhere"
            )


def _field(item: Mapping[str, Any] | None, key: str, sub: str) -> Any:
    inner = (item or {}).get(key)
    return inner.get(sub) if isinstance(inner, dict) else None


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
