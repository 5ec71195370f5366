"""An answer, its status and exit code, and how the session-name evidence and CloudTrail's combine.

``found`` always rests on evidence: the role's trust pinned the session name when the action happened (and the name
is a member allowed to assume it), or a CloudTrail AssumeRole issued the session. Without that the answer is
``not-found``, ``ambiguous`` or ``unverified``, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from access.commands.whois.subject import Subject
from access.commands.whois.times import iso

EXIT_FOUND = 0
EXIT_NOT_FOUND = 3
EXIT_AMBIGUOUS = 4
EXIT_OUTSIDE_WINDOW = 5
EXIT_UNVERIFIED = 6
EXIT_CODES = {
    "found": EXIT_FOUND,
    "not-found": EXIT_NOT_FOUND,
    "ambiguous": EXIT_AMBIGUOUS,
    "outside-window": EXIT_OUTSIDE_WINDOW,
    "unverified": EXIT_UNVERIFIED,
}
EXIT_CODES_TEXT = (
    "exit codes: 0 found, 2 bad input, 3 not found, 4 ambiguous (several identities fit), 5 the action is outside "
    "the look-back window, 6 unverified (the name fits a pinned role, but nothing shows it was pinned then)"
)


@dataclass
class Candidate:
    identity: str  # IAM user name, or the caller's ARN when it is not an IAM user
    kind: str  # IAMUser, AssumedRole, AWSAccount, … ("IAMUser" for pinned answers)
    account_id: str | None
    role_arn: str | None
    session_name: str | None
    principal_arn: str | None = None
    assumed_at: datetime | None = None
    event_id: str | None = None
    access_key_id: str | None = None
    caller_access_key_id: str | None = None
    source_identity: str | None = None
    caller_principal_id: str | None = None
    environment: str | None = None
    in_config: bool | None = None
    via: str | None = None  # an Identity Center session: its group, team and permission set


@dataclass
class Answer:
    status: str  # found | not-found | ambiguous | unverified | outside-window
    method: str  # pinned-session | identity-center | cloudtrail
    subject: Subject
    candidates: list[Candidate] = field(default_factory=list)
    window: tuple[datetime, datetime] | None = None
    searched: str = ""  # what the CloudTrail search looked for
    evidence: str | None = None  # pinned-session: how we know the trust pinned the session name then
    why_unverified: str = ""  # unverified: why the time of the action cannot be checked
    session: str = ""  # pinned-session: the session name the username shows
    roles: tuple[str, ...] = ()  # pinned-session: the roles whose template the username fits
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def combine(pinned: Answer | None, trail: Answer | None, trail_note: str = "") -> Answer:
    """One answer from the session-name evidence and the CloudTrail search (either may be missing).

    CloudTrail that names who called AssumeRole decides; otherwise the evidence stands, with what CloudTrail said
    (or why it was not searched) as a note.
    """
    if pinned is None:
        assert trail is not None, "without a pinned template the caller always searches CloudTrail"
        return trail
    if trail is not None and trail.status in ("found", "ambiguous"):
        if pinned.status == "found" and trail.status == "found" and not _same(pinned, trail):
            note = f"the session-name evidence ({pinned.evidence}) names {pinned.candidates[0].identity}"
            return replace(trail, notes=[*trail.notes, note])
        return trail
    notes = list(pinned.notes)
    if trail_note:
        notes.append(trail_note)
    elif trail is not None and trail.window is not None:
        start, end = trail.window
        if trail.status == "outside-window":
            notes.append(f"the action is outside the CloudTrail window {iso(start)} .. {iso(end)}")
        else:
            notes.append(f"no CloudTrail AssumeRole between {iso(start)} and {iso(end)} matches {trail.searched}")
    return replace(pinned, notes=notes, window=trail.window if trail else None)


def _same(pinned: Answer, trail: Answer) -> bool:
    return pinned.candidates[0].identity.lower() == trail.candidates[0].identity.lower()
