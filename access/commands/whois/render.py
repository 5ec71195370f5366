"""An answer as one line, or as JSON."""

from __future__ import annotations

import json
import math
from datetime import timedelta

from access.commands.whois.answer import Answer, Candidate
from access.commands.whois.correlate import MAX_SESSION
from access.commands.whois.sso import KIND as SSO_KIND
from access.commands.whois.times import iso

ASK_FOR_EVIDENCE = "give --as-deployed PLAN_JSON|CONFIG_DIR (as deployed then) or --cloudtrail FILE"


def render_line(answer: Answer) -> str:
    text = _line(answer)
    for note in answer.notes:
        text += f"; note: {note}"
    return text


def _line(answer: Answer) -> str:
    if answer.status == "outside-window":
        assert answer.window is not None and answer.subject.at is not None
        start, end = answer.window
        hours = math.ceil((end - answer.subject.at) / timedelta(hours=1)) + int(MAX_SESSION / timedelta(hours=1))
        return (
            f"outside the window: the action at {iso(answer.subject.at)} is outside the look-back window "
            f"{iso(start)} .. {iso(end)}; its session can start up to 12 h earlier: use --since {hours}h "
            "(or --until)"
        )
    if answer.status == "not-found" and answer.method == "cloudtrail":
        assert answer.window is not None
        start, end = answer.window
        return (
            f"not found: no AssumeRole between {iso(start)} and {iso(end)} matches {answer.searched}; "
            "add --region for each region whose STS endpoint people use (AssumeRole is logged where it was "
            "served), or give the CloudTrail files that cover it"
        )
    if answer.status == "not-found":
        where = answer.evidence or "today's config (nothing shows how it was deployed then)"
        return (
            f"not found: the session name {answer.session!r} is no member allowed to assume "
            f"{', '.join(answer.roles)} in {where}"
        )
    if answer.status == "unverified" and answer.method == "identity-center":
        listed = "; ".join(_candidate_text(c) for c in answer.candidates)
        return (
            f"unverified: {listed}; the session name is the only link to the person ({answer.why_unverified}): "
            "give --cloudtrail FILE (the AssumeRole whose caller is the AWSReservedSSO_<permission set> session "
            "names the Identity Center user)"
        )
    if answer.status == "unverified":
        listed = "; ".join(_candidate_text(c) for c in answer.candidates)
        return (
            f"unverified: {listed}, if the role's trust pinned the session name to the IAM user name at "
            f"{_when(answer)} as it does in today's config; nothing shows it did ({answer.why_unverified}): "
            f"{ASK_FOR_EVIDENCE}"
        )
    if answer.status == "ambiguous":
        listed = "; ".join(_candidate_text(c) for c in answer.candidates)
        hint = (
            "the username fits several members ({{SessionName}} writes '@' as '-'); the raw session name "
            "(user.extra.sessionName) or CloudTrail decides: --correlate or --cloudtrail FILE"
            if answer.method == "pinned-session"
            else "give --access-key-id (user.extra.accessKeyId in newer audit events) to decide"
        )
        return f"ambiguous: {len(answer.candidates)} identities match: {listed}; {hint}"
    text = _candidate_text(answer.candidates[0], answer.method)
    if answer.method == "pinned-session":
        text += f"; the role's trust policy pinned the session name to the IAM user name then: {answer.evidence}"
    return text


def _when(answer: Answer) -> str:
    return iso(answer.subject.at) if answer.subject.at else "the time of the action"


def _candidate_text(candidate: Candidate, method: str | None = None) -> str:
    if candidate.assumed_at is None and candidate.kind == SSO_KIND:  # an Identity Center session's name
        where = f", environment {candidate.environment}" if candidate.environment else ""
        return (
            f"{candidate.identity} (Identity Center user, as the session name says; {candidate.via}) via "
            f"{candidate.role_arn}{where}"
        )
    if candidate.assumed_at is None:  # from the session name
        return (
            f"{candidate.identity} (IAM user in account {candidate.account_id}) via {candidate.role_arn}, "
            f"environment {candidate.environment}"
        )
    text = (
        f"{_who(candidate)} assumed {candidate.role_arn} as session {candidate.session_name} at "
        f"{iso(candidate.assumed_at)} (CloudTrail event {candidate.event_id})"
    )
    if candidate.source_identity:
        text += f", source identity {candidate.source_identity}"
    if candidate.kind == SSO_KIND:
        text += f"; the caller is the Identity Center user's session {candidate.principal_arn} ({candidate.via})"
    if method and candidate.kind == "AssumedRole" and candidate.caller_access_key_id:
        text += (
            "; that caller is itself a role session, to follow it: python -m access whois "
            f"--access-key-id {candidate.caller_access_key_id}"
        )
    if method and candidate.kind == "AWSAccount":
        text += (
            f"; the call came from account {candidate.account_id}, whose own CloudTrail names the principal "
            f"{candidate.caller_principal_id} (aws iam get-user / get-role there)"
        )
    return text


def _who(candidate: Candidate) -> str:
    if candidate.kind == "IAMUser":
        return f"{candidate.identity} (IAM user {candidate.principal_arn})"
    if candidate.kind == SSO_KIND:
        return f"{candidate.identity} (Identity Center user)"
    if candidate.kind == "AWSAccount":
        return f"principal {candidate.caller_principal_id} of account {candidate.account_id} (AWSAccount)"
    return f"{candidate.identity} ({candidate.kind})"


def render_json(answer: Answer) -> str:
    subject = answer.subject
    document = {
        "status": answer.status,
        "method": answer.method,
        "exitCode": answer.exit_code,
        "evidence": answer.evidence,
        "kubernetes": {
            "username": subject.username,
            "uid": subject.uid,
            "accountId": subject.account_id,
            "principalId": subject.principal_id,
            "accessKeyId": subject.access_key_id,
            "sessionName": subject.session_name,
            "roleArn": subject.role_arn,
            "at": iso(subject.at) if subject.at else None,
            "auditID": subject.audit_id,
            "action": subject.action,
        },
        "window": {"start": iso(answer.window[0]), "end": iso(answer.window[1])} if answer.window else None,
        "searched": answer.searched or None,
        "candidates": [
            {
                "identity": c.identity,
                "type": c.kind,
                "accountId": c.account_id,
                "principalArn": c.principal_arn,
                "principalId": c.caller_principal_id,
                "roleArn": c.role_arn,
                "sessionName": c.session_name,
                "environment": c.environment,
                "inConfig": c.in_config,
                "assumedAt": iso(c.assumed_at) if c.assumed_at else None,
                "cloudTrailEventId": c.event_id,
                "accessKeyId": c.access_key_id,
                "callerAccessKeyId": c.caller_access_key_id,
                "sourceIdentity": c.source_identity,
                "via": c.via,
            }
            for c in answer.candidates
        ],
        "notes": answer.notes,
        "message": render_line(answer),
    }
    return json.dumps(document, indent=2)
