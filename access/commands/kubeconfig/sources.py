"""Where the cluster endpoint and role ARNs come from: the stack outputs, the offline run, or eks:DescribeCluster;
and who the caller is (sts:GetCallerIdentity)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from access.commands import aws
from access.core import kubeconfig
from access.core.callers import Caller, caller_from_arn
from access.core.kubeconfig import ClusterEndpoint
from access.core.loading import LoadedStack
from access.core.model import RoleKind
from access.core.outputs import OUTPUTS_VERSION
from access.core.plan.types import EnvironmentPlan, RolePlan
from access.errors import UsageError


def from_outputs(
    plan: EnvironmentPlan, roles: list[RolePlan], outputs: Mapping[str, Any], stack: str
) -> tuple[ClusterEndpoint, dict[str, str]]:
    """Endpoint, CA and role ARNs from the stack outputs' ``kubeconfigs`` (and ``adminRoleArn``)."""
    configs = outputs.get("kubeconfigs")
    if not isinstance(configs, dict) or not configs:
        raise UsageError(
            f"stack {stack} has no kubeconfigs output; run `pulumi up` for it, or use --cluster NAME "
            "(eks:DescribeCluster)"
        )
    version = outputs.get("outputsVersion", 1)
    if version != OUTPUTS_VERSION:
        raise UsageError(
            f"stack {stack} outputs are version {version}, this eks-access reads version {OUTPUTS_VERSION} "
            "(docs/outputs.md); run `pulumi up` for it, or use --cluster NAME (eks:DescribeCluster)"
        )
    role_arns: dict[str, str] = {}
    for role in roles:
        if role.kind == RoleKind.HUMAN:
            role_id = f"{role.project}.{role.level}"
            entry = (configs.get(role.project or "") or {}).get(role.level or "")
            if not isinstance(entry, dict) or not entry.get("roleArn"):
                raise UsageError(f"stack {stack} outputs have no kubeconfigs.{role_id}; run `pulumi up` for it")
            role_arns[role.key] = str(entry["roleArn"])
        else:
            arn = outputs.get("adminRoleArn")
            if not arn:
                raise UsageError(f"stack {stack} outputs have no adminRoleArn; run `pulumi up` for it")
            role_arns[role.key] = str(arn)
    sample = next(iter(next(iter(configs.values())).values()))
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
            "no pulumi CLI on PATH to read the stack outputs; install it, or use --cluster NAME (endpoint and CA "
            "from eks:DescribeCluster)"
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


def offline_outputs(args: argparse.Namespace, loaded: LoadedStack) -> dict[str, Any]:
    from pulumi import RunError

    from access.stack.offline import run_program

    try:
        return run_program(args.project_dir, args.stack, loaded=loaded).outputs
    except RunError as refusal:
        raise UsageError(str(refusal)) from None


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
    client = aws.aws_client("eks", region)
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


def caller_identity(region: str | None) -> Caller:
    """Who the current AWS credentials are (sts:GetCallerIdentity needs no permission), with IAM's spelling of the
    user name: the session-name pin compares it exactly."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        arn = aws.aws_client("sts", region).get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as error:
        raise UsageError(f"pass --user NAME (could not ask AWS STS who you are: {error})") from None
    return caller_from_arn(str(arn))


# --- the kubeconfig file ----------------------------------------------------------------------------------
