"""IAM Identity Center sessions: who an SSO user's Kubernetes action was, and why only CloudTrail can say for sure.

An Identity Center user reaches a project role from the permission set's role session
``assumed-role/AWSReservedSSO_<permission set>_<suffix>/<user>`` (Identity Center names that session after the
user). The chained ``AssumeRole`` into the project role takes whatever session name the caller gives, and no trust
condition can pin it to the Identity Center user (docs/iam.md, "IAM Identity Center"): so a username that fits a
role trusting Identity Center teams names the user only as a claim, ``unverified``. The CloudTrail ``AssumeRole``
record is the evidence: its ``userIdentity`` is the permission set's session, which names the Identity Center
user and so, through the permission set ``eks.<team>.<env>``, the team and its group (:func:`sso_caller`).
"""

from __future__ import annotations

from collections.abc import Iterable

from access.commands.whois.answer import Answer, Candidate
from access.commands.whois.roles import KnownRole, SsoTeam, TemplateMatch
from access.commands.whois.subject import Subject
from access.core import names

KIND = "IdentityCenterUser"
METHOD = "identity-center"


def sso_session(arn: str | None) -> tuple[str, str] | None:
    """(permission set, session name) of ``arn:aws:sts::<acct>:assumed-role/AWSReservedSSO_<ps>_<suffix>/<name>``
    (or of the role ARN with a session name given apart), else None."""
    if not arn or ":assumed-role/" not in arn:
        return None
    role, _, session = arn.split(":assumed-role/", 1)[1].partition("/")
    permission_set = names.sso_permission_set(role)
    return (permission_set, session) if permission_set is not None and session else None


def team_of(permission_set: str, roles: Iterable[KnownRole]) -> SsoTeam:
    """The team and group config gives the permission set (any role that trusts it knows them)."""
    for role in roles:
        for team in role.sso_teams:
            if team.permission_set == permission_set:
                return team
    return SsoTeam(permission_set, "", "")


def sso_answer(subject: Subject, matches: list[TemplateMatch], roles: list[KnownRole]) -> Answer | None:
    """``unverified`` for a username that fits only roles trusting Identity Center teams, or for an event whose
    role is a permission set's own role; None otherwise (CloudTrail answers as for any unpinned role)."""
    candidates: list[Candidate] = []
    direct = names.sso_permission_set((subject.role_arn or "").rsplit("/", 1)[-1])
    if direct is not None and subject.session_name:
        team = team_of(direct, roles)
        candidates.append(
            Candidate(
                identity=subject.session_name,
                kind=KIND,
                account_id=subject.account_id,
                role_arn=subject.role_arn,
                session_name=subject.session_name,
                via=team.describe(),
            )
        )
    elif matches and all(m.known.sso_teams and (m.raw_session or m.session) for m in matches):
        for match in matches:
            session = str(match.raw_session or match.session)
            for team in match.known.sso_teams:
                candidates.append(
                    Candidate(
                        identity=session,
                        kind=KIND,
                        account_id=match.known.account_id,
                        role_arn=match.known.arn,
                        session_name=session,
                        environment=match.known.environment,
                        via=team.describe(),
                    )
                )
            for user in match.known.members_for_session(session, bool(match.raw_session)):
                candidates.append(
                    Candidate(
                        identity=user,
                        kind="IAMUser",
                        account_id=match.known.people_account_id,
                        role_arn=match.known.arn,
                        session_name=session,
                        environment=match.known.environment,
                        in_config=True,
                    )
                )
    if not candidates:
        return None
    answer = Answer("unverified", METHOD, subject, candidates, session=candidates[0].session_name or "")
    answer.why_unverified = (
        "an Identity Center session chooses the session name of the role it assumes, and no trust condition pins "
        "it to the Identity Center user"
        if direct is None
        else "the role is a permission set's own role; only CloudTrail shows the sign-in behind the session"
    )
    return answer
