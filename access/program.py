"""The Pulumi program: read the stack's selectors, plan the environment, declare its resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from access import awsauth, config, stack_config
from access.components import ClusterAccess, EnvironmentIam
from access.kubeconfig import exec_kubeconfig
from access.outputs import stack_outputs
from access.plan import EnvironmentPlan, RoleKind, plan_environment
from access.stack_config import StackSettings


def read_settings() -> StackSettings:
    values: dict[str, Any] = {}
    access = pulumi.Config("access")
    for key in stack_config.KEYS:
        value = access.get(key)
        if value is not None:
            values[f"access:{key}"] = value
    region = pulumi.Config("aws").get("region")
    if region:
        values["aws:region"] = region
    return stack_config.parse(pulumi.get_stack(), values)


@dataclass
class ClusterConnection:
    provider: k8s.Provider
    endpoint: pulumi.Output[str]
    ca_data: pulumi.Output[str]
    owns_aws_auth: bool  # False when pulumi-eks writes aws-auth / access entries itself


def connect(plan: EnvironmentPlan, settings: StackSettings, roles: dict[str, aws.iam.Role]) -> ClusterConnection:
    """The Kubernetes provider for the environment's cluster, from the stack's clusterSource."""
    if settings.cluster_source == "create":
        return _create_cluster(plan, settings, roles)
    if settings.cluster_source == "stack":
        ref = pulumi.StackReference(f"{plan.environment}-cluster-stack", stack_name=settings.cluster_stack)
        endpoint = ref.require_output("endpoint").apply(str)
        ca_data = ref.require_output("certificateAuthorityData").apply(str)
    else:
        cluster = aws.eks.get_cluster_output(name=plan.cluster_name)
        endpoint = cluster.endpoint
        ca_data = cluster.certificate_authorities.apply(lambda cas: cas[0].data)
    kubeconfig = pulumi.Output.all(endpoint, ca_data).apply(
        lambda v: exec_kubeconfig(v[0], v[1], plan.cluster_name, settings.region, settings.deploy_role_arn)
    )
    provider = k8s.Provider(f"{plan.environment}-k8s", kubeconfig=kubeconfig, enable_server_side_apply=True)
    return ClusterConnection(provider, endpoint, ca_data, owns_aws_auth=True)


def _create_cluster(
    plan: EnvironmentPlan, settings: StackSettings, roles: dict[str, aws.iam.Role]
) -> ClusterConnection:
    """A sandbox cluster created here with pulumi-eks, which then owns aws-auth and access entries."""
    mode = {
        "config_map": eks.AuthenticationMode.CONFIG_MAP,
        "api": eks.AuthenticationMode.API,
        "api_and_config_map": eks.AuthenticationMode.API_AND_CONFIG_MAP,
    }[settings.auth_mode.value]
    mapped = [r for r in plan.roles if r.kind in (RoleKind.HUMAN, RoleKind.ADMIN, RoleKind.MONITORING, RoleKind.CI)]
    role_mappings = (
        [
            eks.RoleMappingArgs(role_arn=roles[r.key].arn, username=r.username, groups=list(r.kubernetes_groups))
            for r in mapped
        ]
        if settings.auth_mode.writes_config_map
        else None
    )
    access_entries = (
        {
            e.key.replace("/", "-"): eks.AccessEntryArgs(
                principal_arn=roles[e.role_key].arn if e.role_key else e.principal_arn,
                username=e.username,
                kubernetes_groups=list(e.kubernetes_groups) or None,
                type=eks.AccessEntryType(e.type),
            )
            for e in plan.access_entries
            if not e.key.startswith("node/")
        }
        if settings.auth_mode.writes_access_entries
        else None
    )
    cluster = eks.Cluster(
        f"{plan.environment}-cluster",
        name=plan.cluster_name,
        authentication_mode=mode,
        role_mappings=role_mappings,
        access_entries=access_entries,
    )
    endpoint = cluster.kubeconfig.apply(lambda kc: kc["clusters"][0]["cluster"]["server"])
    ca_data = cluster.kubeconfig.apply(lambda kc: kc["clusters"][0]["cluster"]["certificate-authority-data"])
    provider = k8s.Provider(
        f"{plan.environment}-k8s", kubeconfig=cluster.kubeconfig_json, enable_server_side_apply=True
    )
    return ClusterConnection(provider, endpoint, ca_data, owns_aws_auth=False)


def main() -> dict[str, Any]:
    """Declare the stack's resources; returns the stack outputs (``__main__`` exports them)."""
    settings = read_settings()
    org = config.load(settings.config_dir)
    plan = plan_environment(org, settings.environment, settings.auth_mode, settings.stack)
    environment_iam = EnvironmentIam(plan.environment, plan)
    connection = connect(plan, settings, environment_iam.roles)
    access = ClusterAccess(
        plan.environment,
        plan,
        environment_iam.roles,
        connection.provider,
        owner=awsauth.owner_id(pulumi.get_project(), settings.stack),
        read_live_aws_auth=settings.aws_auth_exists,
        manage_aws_auth=connection.owns_aws_auth,
        manage_access_entries=connection.owns_aws_auth,
    )
    role_arns = {key: role.arn for key, role in environment_iam.roles.items()}
    return stack_outputs(plan, role_arns, connection.endpoint, connection.ca_data, access.map_roles, settings.region)
