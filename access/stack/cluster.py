"""Where the environment's cluster comes from (the stack's ``access:clusterSource``) and the Kubernetes provider
that reaches it: an existing EKS cluster by name, another stack's outputs, or a sandbox created here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from access.core import names
from access.core.kubeconfig import exec_kubeconfig
from access.core.model import AuthMode
from access.core.plan.types import EnvironmentPlan
from access.core.stack_settings import StackSettings
from access.stack.run_errors import one_line_errors


@dataclass
class ClusterConnection:
    provider: k8s.Provider
    endpoint: pulumi.Output[str]
    ca_data: pulumi.Output[str]
    owns_aws_auth: bool  # False when pulumi-eks writes aws-auth / access entries itself


def connect(plan: EnvironmentPlan, settings: StackSettings, roles: dict[str, aws.iam.Role]) -> ClusterConnection:
    """The Kubernetes provider for the environment's cluster, from the stack's clusterSource."""
    if settings.cluster_source == "create":
        # The stack creates the cluster with access:authMode itself, so the mode fits by construction.
        return _create_cluster(plan, settings, roles)
    # Every other source reaches a cluster someone else owns: its live authentication mode is checked first (a
    # config_map stack on an API cluster would write an aws-auth EKS ignores and report success).
    cluster = aws.eks.get_cluster_output(name=plan.cluster_name)
    ready: pulumi.Output[Any] = cluster.access_configs.apply(
        one_line_errors(lambda configs: _check_auth_mode(plan, settings, configs))
    )
    if settings.cluster_source == "stack":
        ref = pulumi.StackReference(f"{plan.environment}-cluster-stack", stack_name=settings.cluster_stack)
        endpoint = ref.require_output("endpoint").apply(str)
        ca_data = ref.require_output("certificateAuthorityData").apply(str)
        # The other stack must describe the cluster config names: else this stack would patch another cluster.
        ready = pulumi.Output.all(ready, endpoint, cluster.endpoint).apply(
            one_line_errors(lambda v: _check_same_cluster(plan, settings, v[1], v[2]))
        )
    else:
        endpoint = cluster.endpoint
        ca_data = cluster.certificate_authorities.apply(lambda cas: cas[0].data)
    # Checked before the provider exists, so a mismatch stops the preview before anything is written.
    kubeconfig = pulumi.Output.all(endpoint, ca_data, ready).apply(
        one_line_errors(
            lambda v: exec_kubeconfig(v[0], v[1], plan.cluster_name, settings.region, settings.deploy_role_arn)
        )
    )
    return ClusterConnection(_provider(plan, kubeconfig), endpoint, ca_data, owns_aws_auth=True)


def _provider(plan: EnvironmentPlan, kubeconfig: pulumi.Input[str]) -> k8s.Provider:
    """The Kubernetes provider eks-access creates (one per stack), with patch force pinned off.

    ``enable_patch_force=False`` is sent explicitly: the provider then ignores ``PULUMI_K8S_ENABLE_PATCH_FORCE``
    (common in pulumi-eks setups), which would otherwise force every apply, including the aws-auth patch that must
    fail on a conflict when the live map was not read (pulumi-kubernetes ``provider.go``: the provider key wins over
    the environment variable; left unset, the Python SDK itself reads the variable). Force is then only ever the
    per-resource ``pulumi.com/patchForce`` annotation, which the aws-auth patch sets after reading the live map.
    """
    return k8s.Provider(
        f"{plan.environment}-k8s", kubeconfig=kubeconfig, enable_server_side_apply=True, enable_patch_force=False
    )


def _check_same_cluster(plan: EnvironmentPlan, settings: StackSettings, published: str, actual: str | None) -> None:
    if actual is not None and published.rstrip("/").lower() != actual.rstrip("/").lower():
        raise pulumi.RunError(
            f"Pulumi.{settings.stack}.yaml: config.access:clusterStack: stack {settings.cluster_stack!r} publishes "
            f"endpoint {published!r}, but cluster {plan.cluster_name!r} (clusters.{plan.cluster}.name in "
            f"{plan.environments_file}) is at {actual!r}; point clusterStack at the stack that owns that cluster"
        )


def auth_mode_problem(cluster_mode: str | None, stack_mode: AuthMode) -> str | None:
    """Why the stack's access:authMode cannot work on a cluster in ``cluster_mode`` (EKS's spelling), or None.

    A CONFIG_MAP cluster rejects access entries; an API cluster ignores aws-auth, so writing it would look
    like it worked while nobody can log in. An API_AND_CONFIG_MAP cluster honours both, so every stack mode
    fits there (it is the middle step of the one-way migration).
    """
    if cluster_mode is None:
        return None
    mode = cluster_mode.upper()
    if mode == "CONFIG_MAP" and stack_mode.writes_access_entries:
        return "the cluster only reads aws-auth (CONFIG_MAP) and rejects access entries"
    if mode == "API" and stack_mode.writes_config_map:
        return "the cluster ignores aws-auth (API), so mapRoles would grant nothing"
    return None


def _check_auth_mode(plan: EnvironmentPlan, settings: StackSettings, configs: Any) -> None:
    live = None
    if configs:
        first = configs[0]
        live = first.get("authentication_mode") if isinstance(first, dict) else first.authentication_mode
    problem = auth_mode_problem(live, settings.auth_mode)
    if problem:
        raise pulumi.RunError(
            f"Pulumi.{settings.stack}.yaml: config.access:authMode: {settings.auth_mode.value} does not fit cluster "
            f"{plan.cluster_name!r}: {problem}; migrate the cluster first (docs/auth-modes.md)"
        )


def _create_cluster(
    plan: EnvironmentPlan, settings: StackSettings, roles: dict[str, aws.iam.Role]
) -> ClusterConnection:
    """A sandbox cluster created here with pulumi-eks, which then owns aws-auth and access entries.

    The plan's mappings are handed to pulumi-eks as they are (nodes, people, admins, monitoring, CI,
    break-glass), so the cluster is born with them; ClusterAccess then writes only RBAC.
    """
    mode = {
        "config_map": eks.AuthenticationMode.CONFIG_MAP,
        "api": eks.AuthenticationMode.API,
        "api_and_config_map": eks.AuthenticationMode.API_AND_CONFIG_MAP,
    }[settings.auth_mode.value]
    role_keys = {names.strip_role_path(r.arn).lower(): r.key for r in plan.roles}

    def mapped_arn(arn: str) -> pulumi.Input[str]:
        # The role resource's ARN (a dependency) without its path, as aws-iam-authenticator compares it.
        key = role_keys.get(arn.lower())
        return roles[key].arn.apply(names.strip_role_path) if key else arn

    role_mappings = (
        [
            eks.RoleMappingArgs(role_arn=mapped_arn(e.arn), username=e.username, groups=list(e.groups))
            for e in plan.map_roles
        ]
        if settings.auth_mode.writes_config_map
        else None
    )
    user_mappings = (
        [eks.UserMappingArgs(user_arn=e.arn, username=e.username, groups=list(e.groups)) for e in plan.map_users]
        if plan.map_users
        else None
    )
    access_entries = (
        {
            e.key.replace("/", "-"): eks.AccessEntryArgs(
                principal_arn=roles[e.role_key].arn if e.role_key else e.principal_arn,
                username=e.username,
                kubernetes_groups=list(e.kubernetes_groups) or None,
                type=eks.AccessEntryType(e.type),
                access_policies={
                    p.policy_arn.rsplit("/", 1)[-1]: eks.AccessPolicyAssociationArgs(
                        policy_arn=p.policy_arn,
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                            type=p.scope, namespaces=list(p.namespaces) or None
                        ),
                    )
                    for p in e.policies
                }
                or None,
            )
            for e in plan.access_entries
        }
        if settings.auth_mode.writes_access_entries
        else None
    )
    cluster = eks.Cluster(
        f"{plan.environment}-cluster",
        name=plan.cluster_name,
        authentication_mode=mode,
        role_mappings=role_mappings,
        user_mappings=user_mappings,
        access_entries=access_entries,
    )
    endpoint = cluster.kubeconfig.apply(lambda kc: kc["clusters"][0]["cluster"]["server"])
    ca_data = cluster.kubeconfig.apply(lambda kc: kc["clusters"][0]["cluster"]["certificate-authority-data"])
    return ClusterConnection(_provider(plan, cluster.kubeconfig_json), endpoint, ca_data, owns_aws_auth=False)
