"""The answer from the username alone: a pinned session name names the person, if the pin was deployed then.

The username fits a role's template; when every statement of that role's trust policy requires
``sts:RoleSessionName = ${aws:username}``, the session part is the caller's IAM user name. That proves who acted
only if (1) the trust was pinned *when the action happened* (:mod:`history` says how we know, or that we do not)
and (2) the name is a member allowed to assume the role (anything else, ``EKSGetTokenAuth`` or a numeric legacy
session, is no person the config knows).
"""

from __future__ import annotations

from access.commands.whois.answer import Answer, Candidate
from access.commands.whois.history import Deployed
from access.commands.whois.roles import TemplateMatch
from access.commands.whois.subject import Subject

# Session names tools pick when the caller does not: never an IAM user of ours.
DEFAULT_SESSION_NAMES = {
    "EKSGetTokenAuth": "the session name `aws eks get-token` gives every session (awscli customizations/eks)",
}
BOTOCORE_SESSION_PREFIX = "botocore-session-"  # AWS CLI profiles without role_session_name


def pinned_answer(subject: Subject, matches: list[TemplateMatch], deployed: Deployed) -> Answer | None:
    """The session-name evidence, when every role the username fits pins the session name; else None."""
    if not matches or not all(m.known.pinned and (m.session or m.raw_session) for m in matches):
        return None
    session = str(matches[0].raw_session or matches[0].session)
    candidates: dict[str, Candidate] = {}
    for match in matches:
        members = match.known.members_for_session(str(match.raw_session or match.session), bool(match.raw_session))
        for user in members:
            candidate = candidates.setdefault(
                user.lower(),
                Candidate(
                    identity=user,
                    kind="IAMUser",
                    account_id=match.known.people_account_id,
                    role_arn=match.known.arn,
                    session_name=match.raw_session or match.session,
                    environment=match.known.environment,
                    in_config=True,
                ),
            )
            if candidate.role_arn != match.known.arn:
                # the same template in several environments: the role is one of these
                candidate.role_arn = f"{candidate.role_arn}, {match.known.arn}"
                candidate.environment = f"{candidate.environment}, {match.known.environment}"
    roles = tuple(dict.fromkeys(m.known.arn for m in matches))
    answer = Answer("found", "pinned-session", subject, list(candidates.values()), session=session, roles=roles)
    if not candidates:
        answer.status = "not-found"
        answer.evidence = deployed.evidence
        hint = _default_session_hint(session)
        if hint:
            answer.notes.append(hint)
    elif deployed.evidence is None:
        answer.status = "unverified"
        answer.why_unverified = deployed.why_unknown
    else:
        answer.status = "found" if len(candidates) == 1 else "ambiguous"
        answer.evidence = deployed.evidence
        if deployed.pinned_since is not None and answer.status == "found":
            since: dict[str, list[str]] = {}
            for arn in roles:
                since.setdefault(deployed.pinned_since(arn), []).append(arn.rsplit("/", 1)[-1])
            if len(since) == 1:
                answer.evidence += "; " + next(iter(since))
            else:
                answer.evidence += "; " + "; ".join(f"{', '.join(r)} {text}" for text, r in since.items())
    return answer


def _default_session_hint(session: str) -> str:
    if session in DEFAULT_SESSION_NAMES:
        return f"{session} is {DEFAULT_SESSION_NAMES[session]}, not a person"
    if session.startswith(BOTOCORE_SESSION_PREFIX):
        return f"{session} is the session name botocore makes up for profiles without role_session_name"
    if session.isdigit():
        return f"{session} looks like a generated session name (a timestamp), not an IAM user name"
    return ""
