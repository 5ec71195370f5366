"""What the plan knows: each role's username template and whether its trust pins the session name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from access.commands.whois.subject import Subject
from access.core import iam, names
from access.core.model import Organisation
from access.core.plan.roles import build_roles
from access.core.plan.types import RolePlan


@dataclass(frozen=True)
class KnownRole:
    environment: str
    role: RolePlan
    pattern: re.Pattern[str]
    pinned: bool
    members: tuple[str, ...]  # IAM users whose teams may assume it


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


def known_roles(org: Organisation, environments: Iterable[str]) -> list[KnownRole]:
    out = []
    for env in environments:
        for role in build_roles(org, env):
            members = tuple(sorted({m for team in role.teams for m in org.teams[team].members}))
            pinned = iam.session_name_identifies_user(role.trust_policy)
            out.append(KnownRole(env, role, template_pattern(role.username), pinned, members))
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
        if subject.role_arn and names.strip_role_path(known.role.arn).lower() != subject.role_arn.lower():
            continue  # same username shape, different role: another tool's mapping
        if subject.account_id and f":{subject.account_id}:" not in known.role.arn:
            continue
        groups = found.groupdict()
        session = groups.get("session")
        raw = groups.get("raw") or subject.session_name
        if raw and session and raw.replace("@", "-") != session:
            continue
        matches.append(TemplateMatch(known, session or raw, raw))
    return matches
