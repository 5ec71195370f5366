"""``python -m access whois``: which IAM user is behind a Kubernetes action.

Kubernetes audit events name the role session, not the person: ``user.username`` is the role's aws-auth
username template filled in by the authenticator, ``user.uid`` is ``aws-iam-authenticator:<account>:<role id>``
(``heptio-authenticator-aws:`` before the rename), and newer authenticators add ``user.extra`` (``arn``,
``canonicalArn``, ``sessionName``, ``accessKeyId``, ``principalId``).

1. **Pinned session** (our roles): every statement of the role's trust policy requires
   ``sts:RoleSessionName = ${aws:username}``, so ``{{SessionName}}`` in the username *is* the IAM user name.
   The plan knows each role's username template and trust policy, so the answer needs no lookup.
2. **Correlation** (roles created before, other tools' roles, roles whose trust does not pin the session):
   find the ``AssumeRole`` that issued the session in CloudTrail over a look-back window, through boto3
   ``cloudtrail.lookup_events`` or exported files (``{"Records": [...]}`` as delivered to S3, or the
   ``lookup_events`` shape with ``CloudTrailEvent`` strings).

Exit codes: 0 answered, 2 bad input, 3 no match, 4 several identities match, 5 the action is outside the
look-back window.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from access.commands import aws
from access.commands.whois.cloudtrail import LOOKUP_HISTORY, records_from_files, records_from_lookup
from access.commands.whois.correlate import correlate, pinned_answer
from access.commands.whois.render import render_json, render_line
from access.commands.whois.roles import KnownRole, known_roles, match_templates
from access.commands.whois.subject import Subject, parse_uid, read_event, subject_from_event
from access.commands.whois.times import parse_duration, parse_time
from access.errors import UsageError

EXAMPLE = """examples:
  grep b7140a45 kube-apiserver-audit.log | python -m access whois -    # one audit event on stdin
  python -m access whois event.json --format json
  python -m access whois --username projecta:dev:alice                  # pinned session: no lookup needed
  python -m access whois --uid heptio-authenticator-aws:111122223333:AROAUBGCRZPAQIISY7KAL \\
      --username projectA-qa-1566432791140199108 --since 12h          # CloudTrail AssumeRole lookup (boto3)
  python -m access whois event.json --cloudtrail 111122223333_CloudTrail_us-east-1_….json.gz --until 2019-08-22T06:00Z

exit codes: 0 answered, 2 bad input, 3 no match, 4 several identities match, 5 outside the look-back window
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "whois",
        help="which IAM user is behind a Kubernetes audit event",
        description="Attribute a Kubernetes action (an audit event, or its username/uid/access key) to the IAM "
        "user behind it: directly when the role pins the session name to the IAM user name, else through "
        "CloudTrail AssumeRole events.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("event", nargs="?", help="file with one kube-apiserver-audit event (JSON), or - for stdin")
    parser.add_argument("--username", help="Kubernetes username, e.g. projecta:dev:alice")
    parser.add_argument("--uid", help="Kubernetes uid, e.g. aws-iam-authenticator:111122223333:AROA…")
    parser.add_argument("--access-key-id", help="temporary access key id of the session (ASIA…)")
    parser.add_argument("--at", help="when the action happened (ISO 8601), when not given by an event")
    parser.add_argument("--since", default="6h", help="look-back window, e.g. 90m, 6h, 2d (default 6h)")
    parser.add_argument("--until", help="end of the window (ISO 8601; default now)")
    parser.add_argument(
        "--cloudtrail",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="exported CloudTrail JSON (.json or .json.gz; repeatable) instead of lookup_events",
    )
    parser.add_argument(
        "--region",
        action="append",
        default=[],
        help="CloudTrail region(s) to search (repeatable): AssumeRole is logged where the STS endpoint served it",
    )
    parser.add_argument(
        "--correlate", action="store_true", help="check CloudTrail even when the session name is pinned"
    )
    parser.add_argument("--stack", help="only this stack's environment's roles (default: every environment)")
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding Pulumi.yaml")
    parser.add_argument("--config", type=Path, default=None, help="config directory (default: <project-dir>/config)")
    parser.add_argument("--format", choices=("line", "json"), default="line")
    parser.set_defaults(func=run)


def load_known_roles(args: argparse.Namespace) -> list[KnownRole]:
    """Every environment's roles (or the stack's), from config; none when there is no config to read."""
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
    if directory is None:
        directory = args.project_dir / "config"
        if not directory.is_dir():
            print(f"note: no {directory}; usernames from eks-access roles are not recognised", file=sys.stderr)
            return []
    org = config.load(Path(directory), label=str(args.config or "config").rstrip("/"))
    environments = [environment] if environment else sorted(org.environments)
    return known_roles(org, environments)


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


def run(args: argparse.Namespace) -> int:
    since = parse_duration(args.since)
    until = parse_time(args.until, "--until") if args.until else datetime.now(UTC)
    window = (until - since, until)
    subject = subject_from_args(args)
    matches = match_templates(subject, load_known_roles(args))

    answer = None if args.correlate else pinned_answer(subject, matches)
    if answer is None:
        if args.cloudtrail:
            records: Iterable[dict[str, Any]] = list(records_from_files(args.cloudtrail))  # bad files fail first
        else:
            if since > LOOKUP_HISTORY:
                raise UsageError(f"--since {args.since}: CloudTrail event history keeps 90 days; use --cloudtrail FILE")
            records = _lookup_all(args.region or [None], window)
        answer = correlate(subject, matches, records, window)
    print(render_json(answer) if args.format == "json" else render_line(answer))
    return answer.exit_code


def _lookup_all(regions: Sequence[str | None], window: tuple[datetime, datetime]) -> Iterator[dict[str, Any]]:
    from botocore.exceptions import BotoCoreError, ClientError

    for region in regions:
        try:
            yield from records_from_lookup(aws.aws_client("cloudtrail", region), *window)
        except (BotoCoreError, ClientError) as error:
            raise UsageError(f"cloudtrail:LookupEvents{f' in {region}' if region else ''}: {error}") from None
