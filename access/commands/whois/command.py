"""``python -m access whois``: which IAM user is behind a Kubernetes action.

Kubernetes audit events name the role session, not the person: ``user.username`` is the role's aws-auth
username template filled in by the authenticator, ``user.uid`` is ``aws-iam-authenticator:<account>:<role id>``
(``heptio-authenticator-aws:`` before the rename), and newer authenticators add ``user.extra`` (``arn``,
``canonicalArn``, ``sessionName``, ``accessKeyId``, ``principalId``).

1. **Pinned session** (our roles): when every statement of the role's trust policy requires
   ``sts:RoleSessionName = ${aws:username}``, ``{{SessionName}}`` in the username *is* the IAM user name, if the
   trust was deployed that way when the action happened (``history``) and the name is a member allowed the role.
   Identity Center sessions (``sso``) are never pinned: their session name is at most ``unverified``.
2. **Correlation**: the ``AssumeRole`` that issued the session in CloudTrail, over a window that ends at the
   action's time, through boto3 ``cloudtrail.lookup_events`` or exported files (``{"Records": [...]}`` as
   delivered to S3, or the ``lookup_events`` shape with ``CloudTrailEvent`` strings). A file given is always read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from access.commands import aws
from access.commands.whois import times
from access.commands.whois.answer import EXIT_CODES_TEXT, Answer, combine
from access.commands.whois.cloudtrail import LOOKUP_HISTORY, records_from_files, records_from_lookup
from access.commands.whois.correlate import DEFAULT_LOOKBACK, correlate
from access.commands.whois.history import Deployed, as_deployed, from_git
from access.commands.whois.pinned import pinned_answer
from access.commands.whois.render import render_json, render_line
from access.commands.whois.roles import KnownRole, TemplateMatch, known_roles, match_templates
from access.commands.whois.sso import sso_answer
from access.commands.whois.subject import Subject, parse_uid, read_event, subject_from_event
from access.commands.whois.times import iso, parse_duration, parse_time
from access.core.model import Organisation
from access.errors import UsageError

EXAMPLE = f"""examples:
  grep b7140a45 kube-apiserver-audit.log | python -m access whois -    # one audit event on stdin
  python -m access whois event.json --format json
  python -m access whois --username projecta:dev:alice --at 2026-03-04T09:41:27Z   # config history decides
  python -m access whois event.json --as-deployed plan-dev.json        # the plan JSON that was applied then
  python -m access whois --uid heptio-authenticator-aws:111122223333:AROAUBGCRZPAQIISY7KAL \\
      --username projectA-qa-1566432791140199108 --at 2019-08-22T00:13:15Z   # CloudTrail AssumeRole (boto3)
  python -m access whois event.json --cloudtrail 111122223333_CloudTrail_us-east-1_….json.gz

A "found" rests on evidence: the role's trust pinned the session name when the action happened (config history
in git, or --as-deployed) and the name is a member allowed the role, or a CloudTrail AssumeRole issued the session.
The CloudTrail window ends at the action's time (--until moves it).

{EXIT_CODES_TEXT}
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "whois",
        help="which IAM user is behind a Kubernetes audit event",
        description="Attribute a Kubernetes action (an audit event, or its username/uid/access key) to the IAM "
        "user behind it: from the session name when the role pinned it to the IAM user name at the time, else "
        "through CloudTrail AssumeRole events.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("event", nargs="?", help="file with one kube-apiserver-audit event (JSON), or - for stdin")
    parser.add_argument("--username", help="Kubernetes username, e.g. projecta:dev:alice")
    parser.add_argument("--uid", help="Kubernetes uid, e.g. aws-iam-authenticator:111122223333:AROA…")
    parser.add_argument("--access-key-id", help="temporary access key id of the session (ASIA…)")
    parser.add_argument("--at", help="when the action happened (ISO 8601), when not given by an event")
    parser.add_argument(
        "--since",
        help="look-back window before --until, e.g. 90m, 6h, 2d (default 12h15m: the longest role session, plus "
        "the 15 minutes an EKS token stays valid)",
    )
    parser.add_argument("--until", help="end of the window (ISO 8601; default the action's time, else now)")
    parser.add_argument(
        "--cloudtrail",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="exported CloudTrail JSON (.json or .json.gz; repeatable), always read; instead of lookup_events",
    )
    parser.add_argument(
        "--region",
        action="append",
        default=[],
        help="CloudTrail region(s) to search (repeatable): AssumeRole is logged where the STS endpoint served it",
    )
    parser.add_argument(
        "--correlate", action="store_true", help="check CloudTrail even when the session-name evidence answers"
    )
    parser.add_argument(
        "--as-deployed",
        type=Path,
        metavar="PLAN_JSON|CONFIG_DIR",
        help="the plan JSON (python -m access plan --format json) or config directory as deployed when the "
        "action happened (default: the config's git history)",
    )
    parser.add_argument(
        "--git-ref", default="HEAD", help="whose first-parent history tells the config at the time (default HEAD)"
    )
    parser.add_argument("--stack", help="only this stack's environment's roles (default: every environment)")
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding Pulumi.yaml")
    parser.add_argument("--config", type=Path, default=None, help="config directory (default: <project-dir>/config)")
    parser.add_argument("--format", choices=("line", "json"), default="line")
    parser.set_defaults(func=run)


def load_deployed(args: argparse.Namespace, at: datetime | None) -> Deployed:
    """The roles as deployed when the action happened (or today's, saying we cannot know)."""
    from access.core import config
    from access.core import stack_settings as stack_config

    environment = None
    directory = args.config
    if args.stack:
        settings = stack_config.parse(args.stack, stack_config.read_stack_file(args.project_dir, args.stack))
        environment = settings.environment
        if directory is None:
            directory = Path(settings.config_dir)
            if not directory.is_absolute():
                directory = args.project_dir / directory

    def environments(org: Organisation) -> list[str]:
        if environment is None:
            return sorted(org.environments)
        return [environment] if environment in org.environments else []

    if args.as_deployed is not None:
        return as_deployed(args.as_deployed, environments)
    if directory is None:
        directory = args.project_dir / "config"
        if not directory.is_dir():
            print(f"note: no {directory}; usernames from eks-access roles are not recognised", file=sys.stderr)
            return Deployed([], None, f"no {directory}")
    history = from_git(Path(directory), args.git_ref, at, environments)
    if isinstance(history, Deployed):
        return history
    org = config.load(Path(directory), label=str(args.config or "config").rstrip("/"))
    return Deployed(known_roles(org, environments(org)), None, history)


def subject_from_args(args: argparse.Namespace) -> Subject:
    subject = Subject()
    if args.event:
        event, label = read_event(args.event)
        subject = subject_from_event(event, label)
    elif not (args.username or args.uid or args.access_key_id):
        raise UsageError("give an audit event (a file, or - for stdin) or --username / --uid / --access-key-id")
    uid = args.uid or subject.uid
    account, principal = parse_uid(uid) if uid else (subject.account_id, subject.principal_id)
    if args.uid and principal is None:
        raise UsageError(f"--uid {args.uid!r}: expected aws-iam-authenticator:<account id>:<role id>")
    return Subject(
        username=args.username or subject.username,
        uid=uid,
        account_id=account or subject.account_id,
        principal_id=principal or subject.principal_id,
        access_key_id=args.access_key_id or subject.access_key_id,
        session_name=subject.session_name,
        role_arn=subject.role_arn,
        at=parse_time(args.at, "--at") if args.at else subject.at,
        audit_id=subject.audit_id,
        action=subject.action,
    )


def window_of(args: argparse.Namespace, subject: Subject) -> tuple[datetime, datetime]:
    """The CloudTrail window: it ends at the action's time (a session starts before it is used), not at now."""
    since = parse_duration(args.since) if args.since else DEFAULT_LOOKBACK
    until = parse_time(args.until, "--until") if args.until else (subject.at or times.now())
    return until - since, until


def run(args: argparse.Namespace) -> int:
    subject = subject_from_args(args)
    window = window_of(args, subject)
    deployed = load_deployed(args, subject.at)
    matches = match_templates(subject, deployed.roles)
    # The session-name evidence: pinned roles, or (never more than unverified) Identity Center sessions.
    pinned = pinned_answer(subject, matches, deployed) or sso_answer(subject, matches, deployed.roles)

    trail, note = None, ""
    if args.cloudtrail:
        records = list(records_from_files(args.cloudtrail))  # bad files fail first
        trail = correlate(subject, matches, records, window, deployed.roles)
    elif pinned is None or args.correlate:
        trail = correlate(subject, matches, _lookup_all(args, window), window, deployed.roles)
    elif pinned.status in ("unverified", "not-found"):
        trail, note = _try_lookup(args, subject, matches, window, deployed.roles)
    answer: Answer = combine(pinned, trail, note)
    print(render_json(answer) if args.format == "json" else render_line(answer))
    return answer.exit_code


def _try_lookup(
    args: argparse.Namespace,
    subject: Subject,
    matches: list[TemplateMatch],
    window: tuple[datetime, datetime],
    roles: list[KnownRole],
) -> tuple[Answer | None, str]:
    """CloudTrail may still prove who it was; when it cannot be asked, the evidence answer says why."""
    try:
        return correlate(subject, matches, list(_lookup_all(args, window)), window, roles), ""
    except UsageError as error:
        return None, f"CloudTrail was not searched ({error})"


def _lookup_all(args: argparse.Namespace, window: tuple[datetime, datetime]) -> Iterator[dict[str, Any]]:
    since = window[1] - window[0]
    if since > LOOKUP_HISTORY:
        raise UsageError(f"--since {args.since}: CloudTrail event history keeps 90 days; use --cloudtrail FILE")
    if window[0] < times.now() - LOOKUP_HISTORY:
        raise UsageError(
            f"the window starts {iso(window[0])}, more than 90 days ago, and CloudTrail event history keeps 90 "
            "days; use --cloudtrail FILE (the trail's files in S3)"
        )
    return _lookup_regions(args.region or [None], window)


def _lookup_regions(regions: Sequence[str | None], window: tuple[datetime, datetime]) -> Iterator[dict[str, Any]]:
    from botocore.exceptions import BotoCoreError, ClientError

    for region in regions:
        try:
            yield from records_from_lookup(aws.aws_client("cloudtrail", region), *window)
        except (BotoCoreError, ClientError) as error:
            raise UsageError(f"cloudtrail:LookupEvents{f' in {region}' if region else ''}: {error}") from None
