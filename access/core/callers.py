"""Who is asking, and which roles of an environment they may assume: the one answer to "which contexts can this
caller use" (``python -m access kubeconfig``), from the plan's group policies and the rendered trust policies.

- an IAM user: their teams' group policies allow the role, and a trust statement admits IAM users of the account;
- a role session (IAM Identity Center ``AWSReservedSSO_*`` roles, any assumed role): a trust statement names its role
  (without path, as session ARNs carry none) or its account root, without the ``${aws:username}`` session pin, and
  its ``aws:PrincipalArn`` patterns (an Identity Center team's permission set) match the session's role.

Each admission says what the AssumeRole must carry for that statement: the session name, an ExternalId, MFA.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from access.core import iam, names
from access.core.model import Organisation, RoleKind
from access.core.plan.types import EnvironmentPlan, RolePlan


@dataclass(frozen=True)
class Caller:
    """Who signs the tokens, as ``sts:GetCallerIdentity`` names them (or ``--user``)."""

    arn: str
    account_id: str
    user_name: str | None = None  # an IAM user: the name as IAM spells it
    role_arn: str | None = None  # a role session (assumed role, IAM Identity Center): its role, without path
    session_name: str | None = None  # that session's name

    @property
    def permission_set(self) -> str | None:
        """An IAM Identity Center session: the permission set whose ``AWSReservedSSO_*`` role it is a session of."""
        return names.sso_permission_set(self.role_arn.rsplit("/", 1)[-1]) if self.role_arn is not None else None

    @property
    def kind(self) -> str:
        if self.user_name is not None:
            return "IAM user"
        return "role session" if self.role_arn is not None else "principal"


def caller_from_arn(arn: str) -> Caller:
    """``arn:aws:iam::<acct>:user/<path>/<name>`` or ``arn:aws:sts::<acct>:assumed-role/<role>/<session>`` (STS
    ARNs of role sessions never carry the role's path); anything else (root, federated users) is a principal."""
    match = names.ARN_RE.match(arn)
    if match is None:
        return Caller(arn, "")
    partition, service, account, kind, rest = match.groups()
    if service == "iam" and kind == "user":
        return Caller(arn, account, user_name=rest.rsplit("/", 1)[-1])
    if service == "sts" and kind == "assumed-role" and "/" in rest:
        role, session = rest.split("/", 1)
        return Caller(arn, account, role_arn=f"arn:{partition}:iam::{account}:role/{role}", session_name=session)
    return Caller(arn, account)


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


@dataclass(frozen=True)
class Admission:
    """How a caller gets into one role: what its AssumeRole must carry for the trust policy to let it in."""

    role: RolePlan
    session_name: str
    external_id: str | None
    mfa: bool
    via: str  # why the caller may: "team payments", or the trust principal that names it


def admissions(plan: EnvironmentPlan, org: Organisation, caller: Caller) -> list[Admission]:
    """The roles of this environment the caller may assume, and how. The one answer to "which contexts can this
    caller use": IAM users through their teams' group policies and the trust statement that admits account users;
    role sessions (SSO, assumed roles) through trust statements that name their role or account."""
    out = []
    if caller.user_name is not None:
        _, teams = find_member(org, caller.user_name)
        allowed: dict[str, str] = {}  # role key -> the first team whose group policy allows it
        for policy in plan.group_policies:
            if policy.team in teams:
                for key in policy.role_keys:
                    allowed.setdefault(key, policy.team)
        for role in plan.roles:
            statement = _admitting_statement(role.trust_policy, caller) if role.key in allowed else None
            if statement is not None:
                out.append(_admission(role, statement, caller.user_name, f"team {allowed[role.key]}"))
    elif caller.role_arn is not None and caller.session_name is not None:
        for role in plan.roles:
            if role.kind in (RoleKind.HUMAN, RoleKind.ADMIN):
                statement = _admitting_statement(role.trust_policy, caller)
                if statement is not None:
                    out.append(_admission(role, statement, caller.session_name, _via(statement, caller)))
    return out


def _principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal") or {}
    values = principal.get("AWS", []) if isinstance(principal, dict) else []
    return [values] if isinstance(values, str) else list(values)


def _names_caller(principal: str, caller: Caller) -> bool:
    """IAM's principal match: the account root stands for the whole account; a role ARN matches its sessions (the
    path is not in a session's ARN, so compare without it); a user ARN matches that user."""
    if principal == iam.account_root(caller.account_id):
        return True
    if caller.role_arn is not None:
        return names.strip_role_path(principal).lower() == caller.role_arn.lower()
    return principal == caller.arn


def _admitting_statement(trust: iam.PolicyDocument, caller: Caller) -> dict[str, Any] | None:
    """The first Allow statement of ``trust`` whose principal and conditions this caller can satisfy."""
    for statement in trust.get("Statement", []):
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in _actions(statement):
            continue
        if not any(_names_caller(p, caller) for p in _principals(statement)):
            continue
        # sts:RoleSessionName = ${aws:username}: only IAM users have aws:username
        if caller.user_name is None and iam.user_session_name_required({"Statement": [statement]}):
            continue
        if not _principal_arn_admits(statement, caller):
            continue
        return dict(statement)
    return None


def principal_arn_patterns(statement: Mapping[str, Any]) -> list[str]:
    """The ``aws:PrincipalArn`` values a trust statement's conditions compare the caller with."""
    condition = statement.get("Condition") or {}
    return [
        str(p)
        for operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals")
        for value in [(condition.get(operator) or {}).get("aws:PrincipalArn")]
        if value is not None
        for p in ([value] if isinstance(value, str) else value)
    ]


def _principal_arn_admits(statement: Mapping[str, Any], caller: Caller) -> bool:
    """An ``aws:PrincipalArn`` ``ArnLike``/``ArnEquals`` condition (Identity Center permission-set roles, closed
    lists) admits the caller: a role session's ARN carries no path, so the patterns are compared without theirs."""
    patterns = principal_arn_patterns(statement)
    if not patterns:
        return True
    arn = caller.role_arn or caller.arn
    return any(fnmatch.fnmatchcase(arn, names.strip_role_path(p)) or fnmatch.fnmatchcase(arn, p) for p in patterns)


def _actions(statement: Mapping[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def _admission(role: RolePlan, statement: Mapping[str, Any], session_name: str, via: str) -> Admission:
    conditions = statement.get("Condition") or {}
    external_id = (conditions.get("StringEquals") or {}).get("sts:ExternalId")
    mfa = str((conditions.get("Bool") or {}).get("aws:MultiFactorAuthPresent", "")).lower() == "true"
    return Admission(role, session_name, external_id if isinstance(external_id, str) else None, mfa, via)


def _via(statement: Mapping[str, Any], caller: Caller) -> str:
    pattern = next(iter(principal_arn_patterns(statement)), None)
    if pattern is not None:
        return f"trusted principal {names.strip_role_path(pattern)} (aws:PrincipalArn)"
    named = next(p for p in _principals(statement) if _names_caller(p, caller))
    if named == iam.account_root(caller.account_id):
        return f"trusted principal {named} (your own permissions must also allow sts:AssumeRole on it)"
    return f"trusted principal {named}"
