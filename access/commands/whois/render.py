"""An answer as one line, or as JSON."""

from __future__ import annotations

import json
import math
from datetime import timedelta

from access.commands.whois.correlate import Answer, Candidate
from access.commands.whois.times import iso

MAX_SESSION = timedelta(hours=12)  # the longest role session IAM allows


def render_line(answer: Answer) -> str:
    if answer.status == "outside-window":
        assert answer.window is not None and answer.subject.at is not None
        start, end = answer.window
        hours = math.ceil((end - answer.subject.at) / timedelta(hours=1)) + int(MAX_SESSION / timedelta(hours=1))
        return (
            f"outside the window: the action at {iso(answer.subject.at)} is outside the look-back window "
            f"{iso(start)} .. {iso(end)}; its session can start up to 12 h earlier: use --since {hours}h "
            "(or --until)"
        )
    if answer.status == "no-match":
        assert answer.window is not None
        start, end = answer.window
        return (
            f"no match: no AssumeRole between {iso(start)} and {iso(end)} matches {answer.searched}; "
            "a session can start up to 12 h before it is used: widen --since, or add --region "
            "for each region whose STS endpoint people use (AssumeRole is logged where it was served)"
        )
    if answer.status == "ambiguous":
        listed = "; ".join(_candidate_text(c) for c in answer.candidates)
        hint = (
            "the username fits several members; check with --correlate"
            if answer.method == "pinned-session"
            else "give --access-key-id (user.extra.accessKeyId in newer audit events) to decide"
        )
        return f"ambiguous: {len(answer.candidates)} identities match: {listed}; {hint}"
    return _candidate_text(answer.candidates[0], answer.method)


def _candidate_text(candidate: Candidate, method: str | None = None) -> str:
    if candidate.assumed_at is None:  # pinned session
        text = (
            f"{candidate.identity} (IAM user in account {candidate.account_id}) via {candidate.role_arn}, "
            f"environment {candidate.environment}"
        )
        if method:
            text += "; the role's trust policy pins the session name to the IAM user name"
        if candidate.in_config is False:
            text += f"; note: {candidate.identity} is not in a team allowed this role in config (removed since?)"
        return text
    kind = "IAM user" if candidate.kind == "IAMUser" else candidate.kind
    who = (
        f"{candidate.identity} ({kind} {candidate.principal_arn})"
        if candidate.kind == "IAMUser"
        else (f"{candidate.identity} ({kind})")
    )
    text = (
        f"{who} assumed {candidate.role_arn} as session {candidate.session_name} at {iso(candidate.assumed_at)}"
        f" (CloudTrail event {candidate.event_id})"
    )
    if candidate.source_identity:
        text += f", source identity {candidate.source_identity}"
    if method and candidate.kind == "AssumedRole" and candidate.caller_access_key_id:
        text += (
            "; that caller is itself a role session, to follow it: python -m access whois "
            f"--access-key-id {candidate.caller_access_key_id}"
        )
    return text


def render_json(answer: Answer) -> str:
    subject = answer.subject
    document = {
        "status": answer.status,
        "method": answer.method,
        "exitCode": answer.exit_code,
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
                "roleArn": c.role_arn,
                "sessionName": c.session_name,
                "environment": c.environment,
                "inConfig": c.in_config,
                "assumedAt": iso(c.assumed_at) if c.assumed_at else None,
                "cloudTrailEventId": c.event_id,
                "accessKeyId": c.access_key_id,
                "callerAccessKeyId": c.caller_access_key_id,
                "sourceIdentity": c.source_identity,
            }
            for c in answer.candidates
        ],
        "message": render_line(answer),
    }
    return json.dumps(document, indent=2)
