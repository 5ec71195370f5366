"""``python -m access kubeconfig``: kubeconfig contexts for the project-environments a person may enter.

Who may enter what comes from the plan (the person's teams -> their IAM group policies -> roles);
how to reach the cluster comes from the stack's outputs (``pulumi stack output``), the offline run
(``--from-plan``) or ``eks:DescribeCluster`` (``--cluster``). The result is merged into the kubeconfig:
other clusters, contexts and users stay as they are, a backup is written first, the file stays 0600,
and a second run changes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from access.commands.cli import UsageError
from access.core import kubeconfig
from access.core.kubeconfig import ClusterEndpoint, PersonContext
from access.core.model import RoleKind
from access.core.outputs import human_role_ids
from access.core.plan.types import EnvironmentPlan, RolePlan

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
    from access.commands.plan import load_stack

    settings, org, plan = load_stack(args.project_dir, args.stack, args.config)
    user = args.user or caller_user_name(settings.region)
    session_name, teams = kubeconfig.find_member(org, user)
    if not teams:
        raise UsageError(f"IAM user {user!r} is not a member of any team in config/teams.yaml")
    roles = kubeconfig.roles_for_person(plan, teams)
    if args.project is not None:
        project = args.project.lower()
        if project not in org.projects:
            raise UsageError(
                f"unknown project {args.project!r}; config/projects.yaml has {', '.join(sorted(org.projects))}"
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

    if args.cluster:
        cluster, role_arns = from_describe_cluster(plan, roles, args.cluster, settings.region)
    else:
        outputs = offline_outputs(args) if args.from_plan else pulumi_outputs(args.project_dir, args.stack)
        cluster, role_arns = from_outputs(plan, roles, outputs, args.stack)
    contexts = kubeconfig.person_contexts(plan, roles, role_arns, session_name)
    wanted = kubeconfig.entries(cluster, contexts, args.auth)

    path = kubeconfig_path(args.kubeconfig)
    try:
        existing_text = path.read_text() if path.exists() else ""
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror}") from None
    try:
        existing = kubeconfig.parse(existing_text, str(path))
    except kubeconfig.KubeconfigError as error:
        raise UsageError(str(error)) from None
    document, changes = kubeconfig.merge(existing, wanted)
    text = kubeconfig.render(document)
    stale = kubeconfig.stale_contexts(document, cluster.entry, session_name, [c.name for c in contexts])

    if args.dry_run:
        sys.stdout.write(text)
    elif text == existing_text:
        print(f"{path}: unchanged ({len(contexts)} context(s) already up to date)")
    else:
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


def print_aws_profiles(contexts: list[PersonContext], region: str | None, source_profile: str, stream: TextIO) -> None:
    sections = [
        kubeconfig.aws_profile_section(
            kubeconfig.aws_profile_name(c), c.role_arn, c.session_name, source_profile, region
        )
        for c in contexts
    ]
    print("\n# add to ~/.aws/config (the contexts use these profiles):\n" + "\n".join(sections), end="", file=stream)


# --- where the cluster endpoint and role ARNs come from -------------------------------------------------


def from_outputs(
    plan: EnvironmentPlan, roles: list[RolePlan], outputs: Mapping[str, Any], stack: str
) -> tuple[ClusterEndpoint, dict[str, str]]:
    """Endpoint, CA and role ARNs from the stack outputs' ``kubeconfigs`` (and ``adminRoleArn``)."""
    configs = outputs.get("kubeconfigs")
    if not isinstance(configs, dict) or not configs:
        raise UsageError(
            f"stack {stack} has no kubeconfigs output; run `pulumi up` for it, or use --from-plan / --cluster"
        )
    role_arns: dict[str, str] = {}
    role_ids = human_role_ids(plan)
    for role in roles:
        if role.kind == RoleKind.HUMAN:
            role_id = role_ids[role.key]
            entry = configs.get(role_id)
            if not isinstance(entry, dict) or not entry.get("roleArn"):
                raise UsageError(f"stack {stack} outputs have no kubeconfigs.{role_id}; run `pulumi up` for it")
            role_arns[role.key] = str(entry["roleArn"])
        else:
            arn = outputs.get("adminRoleArn")
            if not arn:
                raise UsageError(f"stack {stack} outputs have no adminRoleArn; run `pulumi up` for it")
            role_arns[role.key] = str(arn)
    sample = next(iter(configs.values()))
    missing = [k for k in ("clusterName", "endpoint", "certificateAuthorityData") if not sample.get(k)]
    if missing:
        raise UsageError(f"stack {stack} outputs kubeconfigs lack {', '.join(missing)}; run `pulumi up` for it")
    region = sample.get("region") or None
    name = str(sample["clusterName"])
    endpoint = ClusterEndpoint(
        name=name,
        entry=kubeconfig.cluster_arn(region, plan.account_id, name) or name,
        server=str(sample["endpoint"]),
        ca_data=str(sample["certificateAuthorityData"]),
        region=region,
    )
    return endpoint, role_arns


def pulumi_outputs(project_dir: Path, stack: str) -> dict[str, Any]:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise UsageError(
            "no pulumi CLI on PATH to read the stack outputs; use --cluster NAME (eks:DescribeCluster) "
            "or --from-plan (offline)"
        )
    result = subprocess.run(
        [pulumi, "stack", "output", "--json", "-s", stack],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise UsageError(f"pulumi stack output -s {stack} failed: {lines[-1] if lines else 'no message'}")
    try:
        outputs = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise UsageError(f"pulumi stack output -s {stack} did not print JSON") from None
    if not isinstance(outputs, dict):
        raise UsageError(f"pulumi stack output -s {stack} did not print a JSON object")
    return outputs


def offline_outputs(args: argparse.Namespace) -> dict[str, Any]:
    from pulumi import RunError

    from access.stack.offline import run_program

    overrides = {"access:configDir": str(args.config)} if args.config is not None else None
    try:
        return run_program(args.project_dir, args.stack, config_overrides=overrides).outputs
    except RunError as refusal:
        raise UsageError(str(refusal)) from None


def aws_client(service: str, region: str | None) -> Any:
    """A boto3 client (tests replace this with a stubbed one)."""
    import boto3

    return boto3.client(service, region_name=region) if region else boto3.client(service)


def from_describe_cluster(
    plan: EnvironmentPlan, roles: list[RolePlan], cluster_name: str, region: str | None
) -> tuple[ClusterEndpoint, dict[str, str]]:
    """Endpoint and CA from eks:DescribeCluster; role ARNs as the plan computes them."""
    from botocore.exceptions import BotoCoreError, ClientError

    if cluster_name != plan.cluster_name:
        raise UsageError(
            f"stack {plan.environment}'s cluster is {plan.cluster_name!r}, not {cluster_name!r}; "
            "the roles are mapped in that cluster only"
        )
    client = aws_client("eks", region)
    try:
        cluster = client.describe_cluster(name=cluster_name)["cluster"]
    except (BotoCoreError, ClientError) as error:
        raise UsageError(f"eks:DescribeCluster {cluster_name}: {error}") from None
    server = cluster.get("endpoint")
    ca_data = (cluster.get("certificateAuthority") or {}).get("data")
    if not server or not ca_data:
        raise UsageError(f"cluster {cluster_name} has no endpoint or CA yet (status {cluster.get('status')})")
    endpoint = ClusterEndpoint(
        name=cluster_name,
        entry=str(cluster.get("arn") or cluster_name),
        server=server,
        ca_data=ca_data,
        region=region or client.meta.region_name,
    )
    return endpoint, {role.key: role.arn for role in roles}


def caller_user_name(region: str | None) -> str:
    """The IAM user behind the current AWS credentials (sts:GetCallerIdentity needs no permission)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        arn = aws_client("sts", region).get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as error:
        raise UsageError(f"pass --user NAME (could not ask AWS STS who you are: {error})") from None
    if ":user/" not in arn:
        raise UsageError(f"your AWS credentials are {arn}, not an IAM user; pass --user NAME")
    return str(arn.rsplit("/", 1)[-1])


# --- the kubeconfig file ----------------------------------------------------------------------------------


def kubeconfig_path(given: Path | None) -> Path:
    """``--kubeconfig``, else the first entry of ``$KUBECONFIG``, else ``~/.kube/config``; symlinks followed."""
    if given is not None:
        path = given
    else:
        env = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
        path = Path(env[0]) if env else Path.home() / ".kube" / "config"
    path = path.expanduser()
    return path.resolve() if path.is_symlink() else path


def write_kubeconfig(path: Path, text: str) -> Path | None:
    """Back up the current file, then replace it atomically; both end up mode 0600 (kubeconfigs hold secrets)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    backup = None
    if path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        backup = path.with_name(f"{path.name}.eks-access-{stamp}.bak")
        counter = 1
        while backup.exists():
            backup = path.with_name(f"{path.name}.eks-access-{stamp}-{counter}.bak")
            counter += 1
        _write_private(backup, path.read_bytes(), exclusive=True)
    temporary = path.with_name(f".{path.name}.eks-access-{os.getpid()}.tmp")
    _write_private(temporary, text.encode(), exclusive=False)
    os.replace(temporary, path)
    return backup


def _write_private(path: Path, data: bytes, exclusive: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(path, flags, 0o600)
    os.fchmod(descriptor, 0o600)  # the umask may have taken bits away, never added; make it exact
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
