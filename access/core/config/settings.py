"""``settings.yaml``: naming templates, defaults for every role eks-access creates, and IAM options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from access.core import names
from access.core.config.nodes import Node, Source, describe, typed_arn
from access.core.model import Mfa, Naming, RoleSettings, Trust

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
MANAGED_POLICY_EXAMPLE = "arn:aws:iam::aws:policy/ReadOnlyAccess"

USERNAME_KEYS = ("username", "admin_username", "monitoring_username", "ci_username")
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
MIN_SESSION = 3600
MAX_SESSION = 43200
MAX_PATH_LENGTH = 512
# Tags eks-access puts on every role itself (plan.roles.role_tags); a config tag with one of these keys would be
# overwritten.
OWN_TAG_KEYS = frozenset({"managed-by", "environment", "project", "team", "level", "purpose", "ci"})
MAX_CONFIG_TAGS = 45  # IAM allows 50 tags per role; eks-access adds up to 5
ROLE_KEYS = frozenset(
    {
        "path",
        "max_session_duration",
        "permissions_boundary",
        "session_name_condition",
        "mfa",
        "trust_account_root",
        "trust",
        "trusted_principals",
        "external_id",
        "managed_policy_arns",
        "tags",
    }
)


@dataclass(frozen=True)
class Settings:
    naming: Naming
    roles: RoleSettings
    create_users: bool


def read(source: Source) -> Settings:
    settings = source.root("settings.yaml").mapping({"naming", "roles", "iam"})
    result_naming = naming(settings.get("naming"))
    roles = role_settings(source, settings.get("roles"))
    create_users = False
    if "iam" in settings:
        iam = settings["iam"].mapping({"create_users"})
        create_users = iam["create_users"].boolean() if "create_users" in iam else False
    return Settings(naming=result_naming, roles=roles, create_users=create_users)


def naming(node: Node | None) -> Naming:
    if node is None:
        return Naming()
    values = {key: _template(key, child) for key, child in node.mapping(Naming.__dataclass_fields__.keys()).items()}
    result = Naming(**values)
    for key in USERNAME_KEYS:
        if names.SESSION_NAME not in getattr(result, key):
            raise node.child(key, getattr(result, key)).error(
                "username template must contain {{SessionName}} so each person is told apart in audit logs"
            )
    if ("level" in names.template_fields(result.role)) != ("level" in names.template_fields(result.kubernetes_group)):
        raise node.error(
            "use {level} in both naming.role and naming.kubernetes_group or in neither: "
            "each role must map to a Kubernetes group of its own"
        )
    # A literal prefix such as "system:" is wrong whatever the ids (the ':' before {{SessionName}} that access
    # entries need is checked by the plan, which knows the stack's auth mode); problems that come from an id are
    # reported where the id is used (derived.check).
    for key, what in KUBERNETES_NAME_KEYS.items():
        template = getattr(result, key)
        problem = names.reserved_prefix_problem(template, what)
        if what == "Kubernetes group":
            problem = names.human_group_problem(template) or problem
        if problem:
            raise node.child(key, template).error(problem)
    if not names.IAM_PATH_RE.match(result.group_path):
        raise node.child("group_path", result.group_path).error("IAM path must start and end with '/'")
    return result


def _template(key: str, node: Node) -> str:
    template = node.string()
    syntax = names.template_syntax_problem(template)
    if syntax:
        raise node.error(syntax)
    allowed = TEMPLATE_FIELDS_BY_KEY[key]
    unknown = names.template_fields(template) - allowed
    if unknown:
        usable = ", ".join("{" + f + "}" for f in sorted(allowed)) or "no placeholders"
        raise node.error(
            f"placeholder {{{sorted(unknown)[0]}}} cannot be used in {key}; it takes {usable} "
            "(the EKS token {{SessionName}} passes through)"
        )
    return template


def role_settings(source: Source, node: Node | None) -> RoleSettings:
    if node is None:
        return RoleSettings()
    settings = RoleSettings()
    for key, child in node.mapping(ROLE_KEYS).items():
        value = _ROLE_READERS[key](source, child)
        settings = replace(settings, **(value if key == "trusted_principals" else {key: value}))
    if not settings.trust_account_root and not settings.trusted_principals:
        raise node.error("trust_account_root is false and trusted_principals is empty: nobody could assume roles")
    if not settings.trust_account_root and settings.trust is Trust.MEMBERS:
        raise node.child("trust", settings.trust.value).error(
            "members trust closes the account-root trust to the teams' members, but trust_account_root is false"
        )
    return settings


def _path(_: Source, node: Node) -> str:
    path = node.string()
    if not names.IAM_PATH_RE.match(path) or len(path) > MAX_PATH_LENGTH:
        raise node.error(f"IAM path {path!r} must start and end with '/', e.g. /teams/")
    return path


def _max_session_duration(_: Source, node: Node) -> int:
    return node.integer(MIN_SESSION, MAX_SESSION, " seconds: IAM allows a role's maximum session to be 1 to 12 hours")


def _permissions_boundary(_: Source, node: Node) -> str:
    return typed_arn(node, "policy", MANAGED_POLICY_EXAMPLE)


def _boolean(_: Source, node: Node) -> bool:
    return node.boolean()


def trust(_: Source, node: Node) -> Trust:
    """``account`` or ``members``: who an account-root trust admits (docs/iam.md, "Who may assume a role")."""
    value = node.string()
    try:
        return Trust(value)
    except ValueError:
        raise node.error(
            f"{value!r} is not one of account (any IAM user of the account its own policies allow), "
            "members (only the teams' members)"
        ) from None


def _mfa(_: Source, node: Node) -> Mfa:
    mfa = node.mapping({"required", "max_age_seconds"})
    default = Mfa()
    return Mfa(
        required=mfa["required"].boolean() if "required" in mfa else default.required,
        max_age_seconds=(
            mfa["max_age_seconds"].integer(1, 129600, " seconds")
            if "max_age_seconds" in mfa
            else default.max_age_seconds
        ),
    )


def _trusted_principals(source: Source, node: Node) -> dict[str, tuple[str, ...]]:
    """ARNs, or ``{arn: ..., without_external_id: <why>}`` to trust a foreign account root without an ExternalId."""
    principals, acknowledged = [], []
    for n in node.items():
        if not isinstance(n.value, dict):
            principals.append(source.arn(n, ("role", "user", "root")))
            continue
        m = n.mapping({"arn", "without_external_id"}, required=("arn",))
        principals.append(source.arn(m["arn"], ("role", "user", "root")))
        if "without_external_id" in m:
            m["without_external_id"].string()
            acknowledged.append(principals[-1])
    return {"trusted_principals": tuple(principals), "trusted_without_external_id": tuple(acknowledged)}


def _external_id(_: Source, node: Node) -> str:
    external_id = node.string()
    if not 2 <= len(external_id) <= 1224:
        raise node.error("sts:ExternalId must be 2 to 1224 characters")
    return external_id


def _managed_policy_arns(_: Source, node: Node) -> tuple[str, ...]:
    return tuple(typed_arn(n, "policy", MANAGED_POLICY_EXAMPLE) for n in node.items())


def _tags(_: Source, node: Node) -> tuple[tuple[str, str], ...]:
    tags = []
    for key, n in node.mapping().items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise n.error("an IAM tag key must be 1-128 characters and may not start with 'aws:'")
        if key.lower() in OWN_TAG_KEYS:
            raise n.error(
                f"eks-access sets the tag {key!r} itself; choose another key "
                f"(its own: {', '.join(sorted(OWN_TAG_KEYS))})"
            )
        if not isinstance(n.value, str):
            raise n.error(f"an IAM tag value must be a string, found {describe(n.value)}")
        if len(n.value) > 256:
            raise n.error(f"tag value is {len(n.value)} characters; IAM allows at most 256")
        tags.append((key, n.value))
    if len(tags) > MAX_CONFIG_TAGS:
        raise node.error(f"{len(tags)} tags; IAM allows 50 per role and eks-access adds up to 5 of its own")
    return tuple(sorted(tags))


_ROLE_READERS: dict[str, Callable[[Source, Node], Any]] = {
    "path": _path,
    "max_session_duration": _max_session_duration,
    "permissions_boundary": _permissions_boundary,
    "session_name_condition": _boolean,
    "trust_account_root": _boolean,
    "trust": trust,
    "mfa": _mfa,
    "trusted_principals": _trusted_principals,
    "external_id": _external_id,
    "managed_policy_arns": _managed_policy_arns,
    "tags": _tags,
}
