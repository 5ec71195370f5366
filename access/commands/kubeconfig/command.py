"""``python -m access kubeconfig``: kubeconfig contexts for the project-environments a person may enter.

Who may enter what comes from the plan (``who``: the person's teams -> their IAM group policies -> roles whose
trust admits them; or, for a role session such as SSO, the roles whose trust names it); how to reach the cluster
comes from the stack's outputs (``pulumi stack output``), ``eks:DescribeCluster`` (``--cluster``) or, for previews,
the offline run (``--from-plan``: placeholder endpoint, written under ``-offline`` names only). The result is
merged into the kubeconfig: other clusters, contexts and users stay as they are, a backup is written first, the
file stays 0600, and a second run changes nothing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TextIO

from access.commands.kubeconfig.files import kubeconfig_path, read_kubeconfig, write_kubeconfig
from access.commands.kubeconfig.sources import from_describe_cluster, from_outputs, offline_outputs, pulumi_outputs
from access.commands.kubeconfig.who import admitted_roles, caller_of, signable
from access.core import kubeconfig
from access.core.callers import Admission, Caller
from access.core.kubeconfig import ClusterEndpoint, PersonContext
from access.core.loading import LoadedStack, load_stack
from access.core.plan.types import RolePlan
from access.errors import KubeconfigError, UsageError

SSO_START_URL_RE = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[\w./-]*)?$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
SSO_SESSION_NAME_RE = re.compile(r"^[\w.-]{1,64}$")

EXAMPLE = """examples:
  python -m access kubeconfig --stack dev                      # you (from STS), every project you may enter
  python -m access kubeconfig --stack prod --project projecta --user alice
  python -m access kubeconfig --stack dev --user alice --from-plan --dry-run   # offline preview
  python -m access kubeconfig --stack staging --cluster eks-staging            # endpoint via eks:DescribeCluster
  python -m access kubeconfig --stack prod --auth aws-profile --mfa-serial arn:aws:iam::111122223333:mfa/alice

Each context is named after its namespace (projecta-dev) and authenticates with
  aws-iam-authenticator token --cluster-id <cluster> --role <role ARN> --session-name <your IAM user>
because the roles' trust policies require the session name to be your IAM user name (as IAM spells it: taken
from sts:GetCallerIdentity) and `aws eks get-token` cannot set it. --auth aws-profile uses
`aws eks get-token --profile` instead and prints the ~/.aws/config profiles (role_session_name, external_id,
mfa_serial) to add; roles that require MFA need it. With SSO or other role-session credentials you get the
roles whose trust admits your role (roles.trusted_principals), under your session's name.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "kubeconfig",
        help="write kubeconfig contexts for the project-environments a person may enter",
        description="Merge kubeconfig contexts (one per role the person may assume, namespace preset) "
        "into a kubeconfig, keeping everything else in it.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--project", help="only this project's context (default: every project you may enter)")
    parser.add_argument("--user", help="IAM user name (default: the IAM user your AWS credentials belong to)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--from-plan",
        action="store_true",
        help="offline preview: ARNs from the program run under mocks, a placeholder endpoint and CA, written only "
        "under <name>-offline entries (never over a working cluster entry)",
    )
    source.add_argument("--cluster", metavar="NAME", help="endpoint and CA from eks:DescribeCluster (boto3)")
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="file to merge into (default: first path in $KUBECONFIG, else ~/.kube/config)",
    )
    parser.add_argument("--auth", choices=kubeconfig.AUTH_METHODS, default="authenticator", help="token signer")
    parser.add_argument(
        "--source-profile",
        default=None,
        help="with --auth aws-profile: the profile holding your IAM user keys, or your existing SSO profile "
        "(default: 'default'; for an IAM Identity Center session, a generated SSO profile)",
    )
    parser.add_argument(
        "--sso-start-url",
        metavar="URL",
        help="with --auth aws-profile, for an IAM Identity Center session: your AWS access portal URL, printed in "
        "the [sso-session] section the SSO profile uses (with --sso-region)",
    )
    parser.add_argument("--sso-region", metavar="REGION", help="the region of your IAM Identity Center instance")
    parser.add_argument(
        "--sso-session",
        metavar="NAME",
        default="eks-access",
        help="the [sso-session NAME] the generated SSO profile uses (default: eks-access)",
    )
    parser.add_argument(
        "--mfa-serial",
        metavar="ARN",
        help="with --auth aws-profile: your MFA device, written as mfa_serial for roles whose trust requires MFA",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the merged kubeconfig instead of writing it")
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding Pulumi.yaml")
    parser.add_argument("--config", type=Path, default=None, help="config directory (overrides access:configDir)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_stack(args.project_dir, args.stack, args.config)
    caller = caller_of(args, loaded)
    sso = sso_profile(args, loaded, caller)
    admitted = signable(admitted_roles(loaded, caller, args.project), caller, args.auth, args.mfa_serial)
    cluster, role_arns = _endpoint(args, loaded, [a.role for a in admitted])
    suffix = kubeconfig.OFFLINE_SUFFIX if cluster.placeholder else ""
    contexts = kubeconfig.person_contexts(loaded.plan, admitted, role_arns, suffix)
    wanted = kubeconfig.entries(cluster, contexts, args.auth)

    path = kubeconfig_path(args.kubeconfig)
    existing_text = read_kubeconfig(path)
    try:
        existing = kubeconfig.parse(existing_text, str(path))
        document, changes = kubeconfig.merge(existing, wanted, str(path), cluster.placeholder)
    except KubeconfigError as error:
        raise UsageError(str(error)) from None
    text = kubeconfig.render(document)
    session_name = contexts[0].session_name
    stale = kubeconfig.stale_contexts(document, cluster.entry, session_name, [c.name for c in contexts])

    if args.dry_run:
        sys.stdout.write(text)
    elif text == existing_text:
        print(f"{path}: unchanged ({len(contexts)} context(s) already up to date)")
    else:
        _write(path, text, changes, contexts)
        print(f"{path}: wrote {len(contexts)} context(s) for {session_name} on {cluster.name}")
    _notes(caller, admitted, stale, session_name, cluster)
    if args.auth == "aws-profile":
        # with --dry-run stdout is the kubeconfig alone, so the profiles go to stderr
        stream = sys.stderr if args.dry_run else sys.stdout
        print_aws_profiles(contexts, cluster.region, args.source_profile or "default", args.mfa_serial, stream, sso)
    return 0


def sso_profile(args: argparse.Namespace, loaded: LoadedStack, caller: Caller) -> kubeconfig.SsoProfile | None:
    """For an IAM Identity Center session with ``--auth aws-profile`` (and no ``--source-profile`` of its own): the
    SSO profile the role profiles chain from, signing in as the session's permission set in its account."""
    asked = args.sso_start_url is not None or args.sso_region is not None
    if asked:
        if args.sso_start_url is None or args.sso_region is None:
            raise UsageError("--sso-start-url and --sso-region go together: the [sso-session] section needs both")
        if not SSO_START_URL_RE.match(args.sso_start_url):
            raise UsageError(
                f"--sso-start-url {args.sso_start_url!r}: expected your AWS access portal URL, like "
                "https://d-0123456789.awsapps.com/start"
            )
        if not REGION_RE.match(args.sso_region):
            raise UsageError(f"--sso-region {args.sso_region!r}: expected a region like eu-west-1")
        if args.auth != "aws-profile":
            raise UsageError("--sso-start-url and --sso-region write AWS CLI profiles: add --auth aws-profile")
        if args.source_profile is not None:
            raise UsageError("--source-profile names your own SSO profile; --sso-start-url generates one: pass one")
    permission_set = caller.permission_set
    if permission_set is None:
        if asked:
            raise UsageError(
                f"--sso-start-url: your AWS credentials are {caller.arn}, not an IAM Identity Center session "
                "(assumed-role/AWSReservedSSO_<permission set>_<suffix>/<you>)"
            )
        return None
    if args.auth != "aws-profile" or args.source_profile is not None:
        return None
    if not SSO_SESSION_NAME_RE.match(args.sso_session):
        raise UsageError(f"--sso-session {args.sso_session!r}: expected a name of letters, digits, '-', '_' or '.'")
    return kubeconfig.SsoProfile(
        name=kubeconfig.sso_profile_name(loaded.plan, permission_set),
        session=args.sso_session,
        account_id=caller.account_id,
        role_name=permission_set,
        start_url=args.sso_start_url,
        sso_region=args.sso_region,
    )


def _endpoint(
    args: argparse.Namespace, loaded: LoadedStack, roles: list[RolePlan]
) -> tuple[ClusterEndpoint, dict[str, str]]:
    plan = loaded.plan
    if args.cluster:
        return from_describe_cluster(plan, roles, args.cluster, loaded.settings.region)
    if args.from_plan:
        cluster, role_arns = from_outputs(plan, roles, offline_outputs(args, loaded), args.stack)
        return kubeconfig.offline(cluster), role_arns
    return from_outputs(plan, roles, pulumi_outputs(args.project_dir, args.stack), args.stack)


def _notes(caller: Caller, admitted: list[Admission], stale: list[str], session: str, cluster: ClusterEndpoint) -> None:
    for name in stale:
        print(
            f"note: context {name} was written for {session} earlier but is no longer granted; "
            f"remove it with: kubectl config delete-context {name}",
            file=sys.stderr,
        )
    if caller.user_name is None:
        for admission in admitted:
            print(f"note: {admission.role.name} admits {caller.arn}: {admission.via}", file=sys.stderr)
    if cluster.placeholder:
        print(
            f"note: offline preview: cluster {cluster.entry} has the offline run's placeholder endpoint, nothing "
            "answers there; for working contexts run without --from-plan",
            file=sys.stderr,
        )


def _write(path: Path, text: str, changes: list[kubeconfig.Change], contexts: list[PersonContext]) -> None:
    try:
        backup = write_kubeconfig(path, text)
    except OSError as error:
        raise UsageError(f"{error.filename or path}: cannot write: {error.strerror}") from None
    if backup is not None:
        print(f"{path}: backup of the previous file in {backup}")
    for change in changes:
        if change.section == "contexts":
            ctx = next(c for c in contexts if c.name == change.name)
            namespace = ctx.namespace or "(cluster-wide)"
            print(f"{change.action} context {ctx.name}: namespace {namespace}, role {ctx.role_arn}")


def print_aws_profiles(
    contexts: list[PersonContext],
    region: str | None,
    source_profile: str,
    mfa_serial: str | None,
    stream: TextIO,
    sso: kubeconfig.SsoProfile | None = None,
) -> None:
    """The profiles the contexts use; for an Identity Center session, chained from its SSO profile (printed first,
    with its [sso-session] section when the start URL is given)."""
    head = kubeconfig.sso_sections(sso, region) if sso is not None else []
    source_profile = sso.name if sso is not None else source_profile
    sections = head + [
        kubeconfig.aws_profile_section(
            kubeconfig.aws_profile_name(c),
            c.role_arn,
            c.session_name,
            source_profile,
            region,
            external_id=c.external_id,
            mfa_serial=mfa_serial if c.mfa else None,
        )
        for c in contexts
    ]
    print("\n# add to ~/.aws/config (the contexts use these profiles):\n" + "\n".join(sections), end="", file=stream)
    if sso is not None and sso.start_url is None:
        print(
            f"note: profile {sso.name} signs in with [sso-session {sso.session}]: create it with `aws configure "
            f"sso-session` (name {sso.session}), or pass --sso-start-url and --sso-region to have it printed, or "
            "--source-profile <your SSO profile>; then `aws sso login --profile "
            f"{sso.name}`",
            file=sys.stderr,
        )
    elif sso is not None:
        print(f"note: sign in with: aws sso login --profile {sso.name}", file=sys.stderr)
