"""Derived names and the rules they must satisfy (IAM, Kubernetes, EKS).

Every name a resource gets comes from here, so the loader can check exactly what the planner will use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from access.core.model import Naming

# Every pattern matches the whole value: ``\Z`` (never ``$``, which also matches before a trailing newline), ASCII
# character classes only (``[0-9]``, never ``\d``, which takes any Unicode digit), and re.ASCII for the rest.
ID_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?\Z", re.ASCII)
IAM_NAME_RE = re.compile(r"[A-Za-z0-9+=,.@_-]+\Z", re.ASCII)
IAM_PATH_RE = re.compile(r"/([\x21-\x7e]+/)?\Z", re.ASCII)
RFC1123_LABEL_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?\Z", re.ASCII)
LABEL_VALUE_RE = re.compile(r"([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?\Z", re.ASCII)
ACCOUNT_ID_RE = re.compile(r"[0-9]{12}\Z", re.ASCII)
SSO_INSTANCE_ARN_RE = re.compile(r"arn:aws[a-z-]*:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}\Z", re.ASCII)
IDENTITY_STORE_ID_RE = re.compile(r"d-[0-9a-f]{10}\Z|[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}\Z", re.ASCII)
PERMISSION_SET_NAME_RE = re.compile(r"[\w+=,.@-]{1,32}\Z", re.ASCII)
# The role IAM Identity Center provisions for a permission set in an account ("Referencing permission sets in
# resource policies, Amazon EKS, and AWS KMS", IAM Identity Center User Guide): under this path, with the instance's
# region after it outside us-east-1, named AWSReservedSSO_<permission set>_<unique suffix>.
SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"


def permission_set_name(team: str, env: str) -> str:
    """The permission set eks-access manages for a team in an environment: ids never hold '.', so it is unique."""
    return f"eks.{team}.{env}"


def parse_arn_account(arn: str) -> str:
    """The account field of an ARN (``arn:<partition>:<service>:<region>:<account>:...``)."""
    return arn.split(":")[4]


def is_sso_role_arn(arn: str) -> bool:
    """A role IAM Identity Center provisioned (its path is ``/aws-reserved/sso.amazonaws.com/``)."""
    return ":role" + SSO_ROLE_PATH in arn


SSO_ROLE_NAME_RE = re.compile(r"AWSReservedSSO_(.+)_([^/]{16})\Z")


def sso_permission_set(role_name: str) -> str | None:
    """The permission set of a role Identity Center provisioned (``AWSReservedSSO_<permission set>_<suffix>``, the
    role name of an SSO session's ARN), or None for any other role. The suffix is 16 characters, as the trust
    patterns of :func:`sso_role_patterns` expect."""
    match = SSO_ROLE_NAME_RE.match(role_name)
    return match.group(1) if match else None


def sso_role_patterns(account_id: str, permission_set: str) -> list[str]:
    """``aws:PrincipalArn`` patterns of the permission set's role in the account, with and without the region in
    its path; never an exact ARN, whose suffix changes when the permission set is provisioned again."""
    base = f"arn:aws:iam::{account_id}:role{SSO_ROLE_PATH}"
    # The suffix is 16 characters (the guide's examples): '?' each, so another permission set whose name merely
    # starts with this one's followed by '_' does not match.
    suffix = "?" * 16
    return [f"{base}AWSReservedSSO_{permission_set}_{suffix}", f"{base}*/AWSReservedSSO_{permission_set}_{suffix}"]


# The IAM/STS ARNs config names, as groups (partition, service, account, resource type, rest); parse_arn checks more.
ARN_RE = re.compile(r"arn:(aws|aws-cn|aws-us-gov):(iam|sts)::([0-9]{12}):([a-z-]+)/([\x21-\x7e]+)\Z", re.ASCII)

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
    """Stray braces, an EKS token other than ``{{SessionName}}`` (a typo would be kept literally), or characters no
    name can hold (a line break, a control character, surrounding spaces)."""
    problem = control_character_problem(template, "template")
    if problem:
        return problem
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


def ci_service_account(ci: str) -> str:
    """The ServiceAccount a CI deployer with ``service_accounts: true`` gets in each namespace it deploys to."""
    return f"{ci}-deployer"


def iam_group_name(naming: Naming, team: str) -> str:
    return fill(naming.iam_group, team=team)


def role_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:role{path}{name}"


PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
IAM_PATH_MAX = 512
# IAM's limits per resource type (IAM API reference, CreateRole/CreateUser/CreateGroup/CreatePolicy): names of
# [\w+=,.@-] (ASCII word characters), paths of printable ASCII between slashes.
IAM_NAME_LIMITS = {"role": ROLE_NAME_MAX, "user": USER_NAME_MAX, "group": GROUP_NAME_MAX, "policy": 128}
_OIDC_PROVIDER_RE = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:[0-9]+)?(/[A-Za-z0-9._~%-]+)*\Z", re.ASCII)
_RESOURCE_TYPE_RE = re.compile(r"[a-z][a-z-]*\Z", re.ASCII)
ARN_EXAMPLE = "arn:aws:iam::111122223333:role/name"


@dataclass(frozen=True)
class Arn:
    """An IAM or STS ARN taken apart: ``arn:<partition>:<service>:<region>:<account>:<type><path><name>``."""

    partition: str
    service: str  # iam | sts
    region: str  # always "" for IAM and STS
    account: str  # 12 digits, or "aws" for an AWS managed policy
    resource_type: str  # role, user, group, policy, oidc-provider, root, assumed-role, ...
    path: str  # "/" or "/a/b/" for role, user, group, policy; "" otherwise
    name: str  # the last path segment; the provider URL for oidc-provider; "" for root


def parse_arn(text: str, example: str = ARN_EXAMPLE) -> Arn | str:
    """``text`` as an IAM/STS ARN, or why it is not one (a sentence that quotes it, escaped; ``example`` shows
    what was expected)."""
    for char in text:
        if not char.isprintable() or char.isspace():
            return f"{text!r} contains {char!r}; an ARN has no spaces or control characters (a copy-paste leftover?)"
        if not char.isascii():
            return (
                f"{text!r} contains {char!r} (U+{ord(char):04X}), which is not ASCII; ARNs are ASCII "
                "(a look-alike letter?)"
            )
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] not in ("iam", "sts"):
        return f"{text!r} is not an IAM ARN like {example}"
    _, partition, service, region, account, resource = parts
    if partition not in PARTITIONS:
        return f"{text!r} has partition {partition!r}; expected one of {', '.join(PARTITIONS)}"
    if region:
        return f"{text!r} has region {region!r}; IAM and STS ARNs have none ({ARN_EXAMPLE})"
    kind, _, rest = resource.partition("/")
    if not (ACCOUNT_ID_RE.match(account) or (account == "aws" and kind == "policy")):
        return f"{text!r} has account {account!r}; an account id is 12 digits 0-9"
    if resource == "root":
        return Arn(partition, service, region, account, "root", "", "")
    if not _RESOURCE_TYPE_RE.match(kind) or not rest:
        return f"{text!r} is not an IAM ARN like {example}"
    if kind in IAM_NAME_LIMITS:
        path, _, name = f"/{rest}".rpartition("/")
        return Arn(partition, service, region, account, kind, f"{path}/", name)
    return Arn(partition, service, region, account, kind, "", rest)


def arn_name_problem(text: str, arn: Arn) -> str | None:
    """Why the path or name inside a parsed ARN is not what IAM allows for its type, or None."""
    what = f"{arn.resource_type} name"
    if arn.resource_type in IAM_NAME_LIMITS:
        if len(arn.path) > IAM_PATH_MAX or not IAM_PATH_RE.match(arn.path):
            return f"{text!r} has IAM path {arn.path!r}; a path is '/' or /segments/ of printable ASCII"
        problem = iam_name_problem(arn.name, IAM_NAME_LIMITS[arn.resource_type], what)
        return f"{text!r}: {problem}" if problem else None
    if arn.resource_type == "oidc-provider" and not _OIDC_PROVIDER_RE.match(arn.name):
        return (
            f"{text!r}: {arn.name!r} is not an OIDC provider URL without https:// "
            "(e.g. token.actions.githubusercontent.com)"
        )
    return None


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


def control_character_problem(value: str, what: str) -> str | None:
    """A line break, tab or other non-printable character, or spaces around the value: no name eks-access writes
    (IAM, Kubernetes, aws-auth) may hold them, and the value would not be what it looks like in review."""
    for char in value:
        if not char.isprintable():
            return f"{what} {value!r} contains {char!r}; names may not hold line breaks or control characters"
    if value != value.strip():
        return f"{what} {value!r} has spaces around it; remove them"
    return None


def reserved_prefix_problem(value: str, what: str) -> str | None:
    """Prefixes EKS keeps for itself; refused in every auth mode so a name works in both aws-auth and access entries.
    Also refuses characters no Kubernetes name eks-access writes may hold (every caller checks a name)."""
    problem = control_character_problem(value, what)
    if problem:
        return problem
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
