"""What a plan knows about each role: its username template, whether its trust pins the session name, and which
IAM users may assume it; from a config (:func:`known_roles`) or a saved ``plan --format json`` (:func:`plan_roles`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from access.commands.whois.subject import Subject
from access.core import iam, names
from access.core.callers import principal_arn_patterns
from access.core.config.teams import session_name_in_username
from access.core.model import Organisation, RoleKind
from access.core.plan.roles import build_roles

PEOPLE = frozenset({RoleKind.HUMAN.value, RoleKind.ADMIN.value})
SSO_PRINCIPAL = "Identity Center group "  # how the effective-access rows name an Identity Center team


@dataclass(frozen=True)
class SsoTeam:
    """An IAM Identity Center team whose permission set's role the role's trust admits (``aws:PrincipalArn``)."""

    permission_set: str  # eks.<team>.<env>
    team: str  # "" when not known (a saved plan names the group only)
    group: str  # the Identity Center group's DisplayName ("" when not known)

    def describe(self) -> str:
        parts = [f"Identity Center group {self.group}" if self.group else "an Identity Center group"]
        if self.team:
            parts.append(f"team {self.team}")
        parts.append(f"permission set {self.permission_set}")
        return ", ".join(parts)


@dataclass(frozen=True)
class KnownRole:
    environment: str
    arn: str
    username: str  # the aws-auth / access-entry username template
    pattern: re.Pattern[str]
    pinned: bool  # every statement that admits anyone requires sts:RoleSessionName = ${aws:username}
    members: tuple[str, ...]  # IAM users whose teams may assume it
    # The account those IAM users are in: the role's own, or the central identity account its trust admits.
    people_account_id: str = ""
    # Identity Center teams whose SSO sessions it admits: their session names are not pinned (docs/iam.md).
    sso_teams: tuple[SsoTeam, ...] = ()

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4]

    def members_for_session(self, session: str, raw: bool) -> list[str]:
        """The members a session name stands for. IAM user names are unique ignoring case (and the trust pin may
        compare ignoring case), so case never tells two members apart; ``{{SessionName}}`` also shows '@' as '-',
        so ``jo-example.com`` may be ``jo@example.com`` or ``jo-example.com`` unless the raw name is known."""
        shown = session.lower() if raw else session_name_in_username(session).lower()
        return [m for m in self.members if (m.lower() if raw else session_name_in_username(m).lower()) == shown]


_TOKEN_PATTERNS = {
    "{{SessionName}}": ("session", r"[\w+=,.-]{2,64}"),  # the authenticator replaces '@' with '-'
    "{{SessionNameRaw}}": ("raw", r"[\w+=,.@-]{2,64}"),
    "{{AccessKeyID}}": ("key", r"[A-Z0-9]{16,128}"),
    "{{AccountID}}": ("account", r"\d{12}"),
    "{{EC2PrivateDNSName}}": ("dns", r"[^:]+"),
}
_TOKEN_RE = re.compile("|".join(re.escape(token) for token in _TOKEN_PATTERNS))


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching usernames rendered from an aws-auth username template."""
    parts: list[str] = []
    seen: set[str] = set()
    position = 0
    for match in _TOKEN_RE.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        group, expression = _TOKEN_PATTERNS[match.group(0)]
        parts.append(f"(?P={group})" if group in seen else f"(?P<{group}>{expression})")
        seen.add(group)
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts))


def _known(
    environment: str,
    arn: str,
    username: str,
    trust: iam.PolicyDocument,
    members: Iterable[str],
    sso_teams: Iterable[SsoTeam] = (),
) -> KnownRole:
    return KnownRole(
        environment=environment,
        arn=arn,
        username=username,
        pattern=template_pattern(username),
        pinned=iam.session_name_identifies_user(trust),
        members=tuple(sorted(set(members), key=str.lower)),
        people_account_id=_people_account(trust) or arn.split(":")[4],
        sso_teams=tuple(sorted(set(sso_teams), key=lambda t: t.permission_set)),
    )


def trusted_permission_sets(trust: iam.PolicyDocument) -> list[str]:
    """The permission sets whose ``AWSReservedSSO_*`` roles the trust's ``aws:PrincipalArn`` patterns admit."""
    found: list[str] = []
    for statement in trust.get("Statement", []):
        for value in principal_arn_patterns(statement):
            permission_set = names.sso_permission_set(value.rsplit("/", 1)[-1])
            if permission_set is not None and permission_set not in found:
                found.append(permission_set)
    return found


def _people_account(trust: iam.PolicyDocument) -> str | None:
    """The account whose IAM users the session-pinned statement admits (its account-root principal)."""
    for statement in trust.get("Statement", []):
        if not iam.user_session_name_required({"Statement": [statement]}):
            continue
        principals = (statement.get("Principal") or {}).get("AWS", [])
        for principal in [principals] if isinstance(principals, str) else principals:
            parsed = names.parse_arn(str(principal))
            if isinstance(parsed, names.Arn) and parsed.resource_type == "root":
                return parsed.account
    return None


def known_roles(org: Organisation, environments: Iterable[str]) -> list[KnownRole]:
    out = []
    for env in environments:
        for role in build_roles(org, env):
            members = {m for team in role.teams for m in org.teams[team].members}
            sso = [
                SsoTeam(names.permission_set_name(team, env), team, org.teams[team].identity_center_group or "")
                for team in role.teams
                if org.teams[team].identity_center_group
            ]
            out.append(_known(env, role.arn, role.username, role.trust_policy, members, sso))
    return out


def plan_roles(document: Mapping[str, Any], label: str) -> list[KnownRole]:
    """The roles of a saved ``python -m access plan --format json`` (docs/plan-json.md): templates and trust
    policies from ``roles``, who may assume each person's role from the effective-access rows ``access``."""
    from access.errors import UsageError

    environment, roles, rows = document.get("environment"), document.get("roles"), document.get("access")
    if not (isinstance(environment, str) and isinstance(roles, list) and isinstance(rows, list)):
        raise UsageError(f"{label}: not `python -m access plan --format json` output (environment, roles, access)")
    principals: dict[str, set[str]] = {}
    for row in rows:
        if isinstance(row, dict) and isinstance(row.get("role"), str) and isinstance(row.get("principal"), str):
            principals.setdefault(row["role"], set()).add(row["principal"])
    out = []
    for index, role in enumerate(roles):
        try:
            arn, username, trust, kind, name = (role[k] for k in ("arn", "username", "trustPolicy", "kind", "name"))
        except (KeyError, TypeError):
            raise UsageError(f"{label}: roles[{index}] lacks arn, username, trustPolicy, kind or name") from None
        members = principals.get(name, set()) if kind in PEOPLE else set()
        # The rows name Identity Center principals "Identity Center group <name>"; which permission set is whose is
        # only certain when there is one of each.
        groups = sorted(p.removeprefix(SSO_PRINCIPAL) for p in members if p.startswith(SSO_PRINCIPAL))
        sets = trusted_permission_sets(trust) if kind in PEOPLE else []
        sso = [SsoTeam(ps, "", groups[0] if len(groups) == len(sets) == 1 else "") for ps in sets]
        members = {m for m in members if not m.startswith(SSO_PRINCIPAL)}
        out.append(_known(environment, arn, username, trust, members, sso))
    return out


@dataclass(frozen=True)
class TemplateMatch:
    known: KnownRole
    session: str | None  # the session name as it appears in the username
    raw_session: str | None  # with '@' intact, when the template or the event carries it


def match_templates(subject: Subject, roles: Sequence[KnownRole]) -> list[TemplateMatch]:
    """The known roles whose username template produced ``subject.username`` (and agree with the event's
    role ARN and account, when it names them)."""
    if not subject.username:
        return []
    matches = []
    for known in roles:
        found = known.pattern.fullmatch(subject.username)
        if not found:
            continue
        if subject.role_arn and names.strip_role_path(known.arn).lower() != subject.role_arn.lower():
            continue  # same username shape, different role: another tool's mapping
        if subject.account_id and known.account_id != subject.account_id:
            continue
        groups = found.groupdict()
        session = groups.get("session")
        raw = groups.get("raw") or subject.session_name
        if raw and session and session_name_in_username(raw) != session:
            continue
        matches.append(TemplateMatch(known, session or raw, raw))
    return matches
