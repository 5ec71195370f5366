"""Derived names and the rules they must satisfy (IAM, Kubernetes, EKS).

Every name a resource gets comes from here, so the loader can check exactly what the planner will use.
"""

from __future__ import annotations

import re

from access.core.model import Naming

ID_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
IAM_NAME_RE = re.compile(r"^[A-Za-z0-9+=,.@_-]+$")
IAM_PATH_RE = re.compile(r"^/([\x21-\x7e]+/)?$")
RFC1123_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?$")
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):(iam|sts)::(\d{12}):([a-z-]+)/(.+)$")

ROLE_NAME_MAX = 64
GROUP_NAME_MAX = 128
USER_NAME_MAX = 64
NAMESPACE_MAX = 63
LABEL_VALUE_MAX = 63
SESSION_NAME_MIN = 2
SESSION_NAME_MAX = 64
SESSION_NAME = "{{SessionName}}"
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# EKS access entries refuse usernames and groups with these prefixes.
ACCESS_ENTRY_RESERVED_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")


TEMPLATE_FIELDS = ("project", "env", "level", "team", "ci")
_PLACEHOLDER_RE = re.compile(r"\{\{[A-Za-z0-9]+\}\}|\{([^{}]*)\}")


def fill(template: str, **fields: str) -> str:
    """Fill ``{field}`` placeholders; EKS tokens such as ``{{SessionName}}`` pass through untouched."""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key is None:
            return match.group(0)
        return fields[key]

    return _PLACEHOLDER_RE.sub(substitute, template)


_TOKEN_RE = re.compile(r"\{\{[^{}]*\}\}")


def template_syntax_problem(template: str) -> str | None:
    """Stray braces or an EKS token other than ``{{SessionName}}`` (a typo would be kept literally)."""
    for token in _TOKEN_RE.findall(template):
        if token != SESSION_NAME:
            return f"unknown token {token}; the only EKS token eks-access uses is {SESSION_NAME}"
    if "{" in _PLACEHOLDER_RE.sub("", template) or "}" in _PLACEHOLDER_RE.sub("", template):
        return "unbalanced '{' or '}'; write placeholders as {project} and the EKS token as {{SessionName}}"
    return None


def template_fields(template: str) -> set[str]:
    """The ``{field}`` placeholders a template uses (EKS ``{{tokens}}`` excluded)."""
    return {m.group(1) for m in _PLACEHOLDER_RE.finditer(template) if m.group(1) is not None}


def role_name(naming: Naming, project: str, env: str, level: str) -> str:
    return fill(naming.role, project=project, env=env, level=level)


def kubernetes_group(naming: Naming, project: str, env: str, level: str) -> str:
    return fill(naming.kubernetes_group, project=project, env=env, level=level)


def kubernetes_username(naming: Naming, project: str, env: str, level: str) -> str:
    return fill(naming.username, project=project, env=env, level=level)


def namespace(naming: Naming, project: str, env: str) -> str:
    return fill(naming.namespace, project=project, env=env)


def iam_group_name(naming: Naming, team: str) -> str:
    return fill(naming.iam_group, team=team)


def role_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:role{path}{name}"


def strip_role_path(arn: str) -> str:
    """The role ARN as aws-iam-authenticator compares it: ``role/a/b/name`` -> ``role/name``."""
    match = ARN_RE.match(arn)
    if not match or match.group(4) != "role":
        return arn
    name = match.group(5).rsplit("/", 1)[-1]
    return f"arn:{match.group(1)}:iam::{match.group(3)}:role/{name}"


def iam_name_problem(name: str, max_len: int, what: str) -> str | None:
    """Why ``name`` cannot be an IAM name of this kind, or None when it can."""
    if not name:
        return f"{what} is empty"
    if len(name) > max_len:
        return f"{what} {name!r} is {len(name)} characters; IAM allows at most {max_len}"
    if not name.isascii() or not IAM_NAME_RE.match(name):
        return f"{what} {name!r} may contain only letters, digits and + = , . @ _ -"
    return None


def namespace_problem(name: str) -> str | None:
    if len(name) > NAMESPACE_MAX:
        return f"namespace {name!r} is {len(name)} characters; Kubernetes allows at most {NAMESPACE_MAX}"
    if not name.isascii() or not RFC1123_LABEL_RE.match(name):
        return f"namespace {name!r} is not a lowercase RFC 1123 label (a-z, 0-9, '-', alphanumeric ends)"
    if name in RESERVED_NAMESPACES or name.startswith("kube-"):
        return f"namespace {name!r} is reserved by Kubernetes; choose another project or environment id"
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > LABEL_VALUE_MAX or not LABEL_VALUE_RE.match(value):
        return f"label value {value!r} must be at most 63 characters of [A-Za-z0-9_.-] with alphanumeric ends"
    return None


def reserved_prefix_problem(value: str, what: str) -> str | None:
    """Prefixes EKS keeps for itself; refused in every auth mode so a name works in both aws-auth and access entries."""
    for prefix in ACCESS_ENTRY_RESERVED_PREFIXES:
        if value.startswith(prefix):
            return f"{what} {value!r} starts with {prefix!r}, which EKS reserves for itself"
    return None


def access_entry_name_problem(value: str, what: str) -> str | None:
    """EKS access entry rules for usernames and Kubernetes groups.

    Beyond the reserved prefixes, access entries need a ':' right before {{SessionName}}; aws-auth does not, so
    the seeds' ``<project>-{{SessionName}}`` template is accepted where only aws-auth is written.
    """
    problem = reserved_prefix_problem(value, what)
    if problem:
        return problem
    if SESSION_NAME in value:
        at = value.index(SESSION_NAME)
        if at == 0 or value[at - 1] != ":":
            return f"{what} {value!r} needs a ':' right before {SESSION_NAME} (EKS rejects it otherwise)"
    return None


def human_group_problem(group: str) -> str | None:
    """Humans and machines we map never join Kubernetes' own groups."""
    if group.startswith("system:"):
        return f"Kubernetes group {group!r} is a system group; humans and CI may not be placed in system:* groups"
    return None
