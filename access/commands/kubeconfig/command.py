"""``python -m access kubeconfig``: kubeconfig contexts for the project-environments a person may enter.

Who may enter what comes from the plan (the person's teams -> their IAM group policies -> roles);
how to reach the cluster comes from the stack's outputs (``pulumi stack output``), the offline run
(``--from-plan``) or ``eks:DescribeCluster`` (``--cluster``). The result is merged into the kubeconfig:
other clusters, contexts and users stay as they are, a backup is written first, the file stays 0600,
and a second run changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from access.commands.kubeconfig.files import kubeconfig_path, read_kubeconfig, write_kubeconfig
from access.commands.kubeconfig.sources import (
    caller_user_name,
    from_describe_cluster,
    from_outputs,
    offline_outputs,
    pulumi_outputs,
)
from access.core import kubeconfig
from access.core.kubeconfig import PersonContext
from access.core.loading import LoadedStack, load_stack
from access.core.model import RoleKind
from access.core.plan.types import RolePlan
from access.errors import KubeconfigError, UsageError

EXAMPLE = """examples:
  python -m access kubeconfig --stack dev                      # you (from STS), every project you may enter
  python -m access kubeconfig --stack prod --project projecta --user alice
  python -m access kubeconfig --stack dev --user alice --from-plan --dry-run   # offline preview
  python -m access kubeconfig --stack staging --cluster eks-staging            # endpoint via eks:DescribeCluster

Each context is named after its namespace (projecta-dev) and authenticates with
  aws-iam-authenticator token --cluster-id <cluster> --role <role ARN> --session-name <your IAM user>
because the roles' trust policies require the session name to be your IAM user name and
`aws eks get-token` cannot set it. --auth aws-profile uses `aws eks get-token --profile` instead and
prints the ~/.aws/config profiles (with role_session_name) to add.
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
        "--from-plan", action="store_true", help="offline: endpoint and ARNs from the program run under mocks"
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
        "--source-profile", default="default", help="with --auth aws-profile: profile holding your IAM user keys"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the merged kubeconfig instead of writing it")
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding Pulumi.yaml")
    parser.add_argument("--config", type=Path, default=None, help="config directory (overrides access:configDir)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_stack(args.project_dir, args.stack, args.config)
    user = args.user or caller_user_name(loaded.settings.region)
    session_name, teams = kubeconfig.find_member(loaded.org, user)
    if not teams:
        raise UsageError(f"IAM user {user!r} is not a member of any team in config/teams.yaml")
    roles = _roles(loaded, session_name, teams, args.project)
    plan = loaded.plan
    if args.cluster:
        cluster, role_arns = from_describe_cluster(plan, roles, args.cluster, loaded.settings.region)
    else:
        outputs = offline_outputs(args, loaded) if args.from_plan else pulumi_outputs(args.project_dir, args.stack)
        cluster, role_arns = from_outputs(plan, roles, outputs, args.stack)
    contexts = kubeconfig.person_contexts(plan, roles, role_arns, session_name)
    wanted = kubeconfig.entries(cluster, contexts, args.auth)

    path = kubeconfig_path(args.kubeconfig)
    existing_text = read_kubeconfig(path)
    try:
        existing = kubeconfig.parse(existing_text, str(path))
    except KubeconfigError as error:
        raise UsageError(str(error)) from None
    document, changes = kubeconfig.merge(existing, wanted)
    text = kubeconfig.render(document)
    stale = kubeconfig.stale_contexts(document, cluster.entry, session_name, [c.name for c in contexts])

    if args.dry_run:
        sys.stdout.write(text)
    elif text == existing_text:
        print(f"{path}: unchanged ({len(contexts)} context(s) already up to date)")
    else:
        _write(path, text, changes, contexts)
        print(f"{path}: wrote {len(contexts)} context(s) for {session_name} on {cluster.name}")
    for name in stale:
        print(
            f"note: context {name} was written for {session_name} earlier but is no longer granted; "
            f"remove it with: kubectl config delete-context {name}",
            file=sys.stderr,
        )
    if args.auth == "aws-profile":
        # with --dry-run stdout is the kubeconfig alone, so the profiles go to stderr
        print_aws_profiles(contexts, cluster.region, args.source_profile, sys.stderr if args.dry_run else sys.stdout)
    return 0


def _roles(loaded: LoadedStack, session_name: str, teams: tuple[str, ...], project_arg: str | None) -> list[RolePlan]:
    """The roles the person's teams may assume here, or only the project's; refused when there are none."""
    org, plan = loaded.org, loaded.plan
    roles = kubeconfig.roles_for_person(plan, teams)
    if project_arg is not None:
        project = project_arg.lower()
        if project not in org.projects:
            raise UsageError(
                f"unknown project {project_arg!r}; config/projects.yaml has {', '.join(sorted(org.projects))}"
            )
        roles = [r for r in roles if r.kind == RoleKind.HUMAN and r.project == project]
        if not roles:
            raise UsageError(
                f"{session_name} (teams: {', '.join(teams)}) has no access to project {project} in environment "
                f"{plan.environment}"
            )
    if not roles:
        raise UsageError(
            f"{session_name}'s teams ({', '.join(teams)}) have no roles to assume in environment {plan.environment}"
        )
    return roles


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


def print_aws_profiles(contexts: list[PersonContext], region: str | None, source_profile: str, stream: TextIO) -> None:
    sections = [
        kubeconfig.aws_profile_section(
            kubeconfig.aws_profile_name(c), c.role_arn, c.session_name, source_profile, region
        )
        for c in contexts
    ]
    print("\n# add to ~/.aws/config (the contexts use these profiles):\n" + "\n".join(sections), end="", file=stream)


# --- where the cluster endpoint and role ARNs come from -------------------------------------------------
