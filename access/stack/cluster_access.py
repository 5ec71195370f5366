"""The cluster half of an environment's stack: aws-auth (patched in place) or EKS access entries, and RBAC.

No decisions are made here. Resources exist because the plan lists them; ``apply`` only fills in properties
(the live aws-auth merged into the new one).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from access.core import awsauth
from access.core.plan.rbac import manifest_id
from access.core.plan.types import EnvironmentPlan
from access.errors import AwsAuthError

PATCH_FORCE = "pulumi.com/patchForce"


K8S_CLASSES: dict[str, Any] = {
    # A patch (server-side apply) creates the namespace when absent and adopts it when teams already run there;
    # retained on delete, because deleting a namespace deletes every workload in it.
    "Namespace": k8s.core.v1.NamespacePatch,
    "ServiceAccount": k8s.core.v1.ServiceAccount,
    "Role": k8s.rbac.v1.Role,
    "RoleBinding": k8s.rbac.v1.RoleBinding,
    "ClusterRole": k8s.rbac.v1.ClusterRole,
    "ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding,
}
RETAINED_KINDS = frozenset({"Namespace"})
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})
_MANIFEST_ARGS = {
    "rules": "rules",
    "roleRef": "role_ref",
    "subjects": "subjects",
    "automountServiceAccountToken": "automount_service_account_token",
}


class ClusterAccess(pulumi.ComponentResource):
    """Everything inside one cluster for one environment: aws-auth or access entries, and RBAC."""

    def __init__(
        self,
        name: str,
        plan: EnvironmentPlan,
        roles: dict[str, aws.iam.Role],
        provider: k8s.Provider | None,
        owner: str,
        read_live_aws_auth: bool,
        manage_aws_auth: bool = True,
        manage_access_entries: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("eks-access:cluster:ClusterAccess", name, None, opts)
        self.map_roles: pulumi.Output[str] | None = None
        self.aws_auth: k8s.core.v1.ConfigMapPatch | None = None
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        if plan.auth_mode.writes_config_map and manage_aws_auth:
            self.map_roles = self._aws_auth(name, plan, list(roles.values()), owner, read_live_aws_auth, k8s_opts)

        self.access_entries: dict[str, aws.eks.AccessEntry] = {}
        for entry in plan.access_entries if manage_access_entries else []:
            principal = roles[entry.role_key].arn if entry.role_key else entry.principal_arn
            resource = aws.eks.AccessEntry(
                f"{name}-entry-{entry.key.replace('/', '-')}",
                cluster_name=plan.cluster_name,
                principal_arn=principal,
                type=entry.type,
                user_name=entry.username,
                kubernetes_groups=list(entry.kubernetes_groups) or None,
                # One entry per principal: a replacement (a type change) must delete the old entry first.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
            self.access_entries[entry.key] = resource
            for policy in entry.policies:
                scope = aws.eks.AccessPolicyAssociationAccessScopeArgs(
                    type=policy.scope, namespaces=list(policy.namespaces) or None
                )
                aws.eks.AccessPolicyAssociation(
                    f"{name}-entry-{entry.key.replace('/', '-')}-{policy.policy_arn.rsplit('/', 1)[-1]}",
                    cluster_name=plan.cluster_name,
                    principal_arn=resource.principal_arn,
                    policy_arn=policy.policy_arn,
                    access_scope=scope,
                    # Keyed by cluster, principal and policy: created first, the new association would be the
                    # old one, and deleting the old one afterwards would remove the policy.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[resource], delete_before_replace=True),
                )

        self.manifests: dict[str, pulumi.CustomResource] = {}
        namespaces: dict[str, pulumi.CustomResource] = {}
        for manifest in plan.manifests:
            kind = manifest["kind"]
            meta = manifest["metadata"]
            depends = [namespaces[meta["namespace"]]] if meta.get("namespace") in namespaces else []
            args = {arg: manifest[key] for key, arg in _MANIFEST_ARGS.items() if key in manifest}
            resource = K8S_CLASSES[kind](
                f"{name}-{manifest_id(manifest).lower()}",
                metadata=meta,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=provider,
                    depends_on=depends,
                    retain_on_delete=kind in RETAINED_KINDS or None,
                    # roleRef is immutable in Kubernetes: a change must be planned as a replacement, and the
                    # old binding deleted first because the new one has the same name.
                    replace_on_changes=["roleRef"] if kind in BINDING_KINDS else None,
                    # None elsewhere: an explicit False would override the Kubernetes provider's own
                    # delete-first request when a named object is replaced under the same name.
                    delete_before_replace=True if kind in BINDING_KINDS else None,
                ),
                **args,
            )
            self.manifests[manifest_id(manifest)] = resource
            if kind == "Namespace":
                namespaces[meta["name"]] = resource
        self.register_outputs({"mapRoles": self.map_roles})

    def _aws_auth(
        self,
        name: str,
        plan: EnvironmentPlan,
        roles: list[aws.iam.Role],
        owner: str,
        read_live: bool,
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        """Patch kube-system/aws-auth in place (server-side apply): created when absent, never replaced or deleted.

        With ``read_live`` the live map is read first and merged (refusing unknown entries), and the patch is
        forced so it can take mapRoles over from EKS. Without it (a cluster that has no aws-auth yet, where
        reading would fail the preview with "resource does not exist") the patch is not forced: if the map
        exists after all, the API server reports a field conflict instead of letting us overwrite it.
        """
        if read_live:
            live = k8s.core.v1.ConfigMap.get(f"{name}-aws-auth-live", f"{awsauth.NAMESPACE}/{awsauth.NAME}", opts=opts)
            merged = pulumi.Output.all(live.data, live.metadata).apply(
                lambda args: _merge(plan, args[0], (args[1] or {}).get("annotations"), owner)
            )
        else:
            merged = pulumi.Output.from_input(_merge(plan, None, None, owner))
        force = {PATCH_FORCE: "true"} if read_live else {}
        self.aws_auth = k8s.core.v1.ConfigMapPatch(
            f"{name}-aws-auth",
            metadata={
                "name": awsauth.NAME,
                "namespace": awsauth.NAMESPACE,
                "annotations": merged.apply(lambda m: {**m.annotations, **force}),
            },
            # Only the keys we own: server-side apply leaves mapAccounts (and mapUsers when not ours) alone.
            data=merged.apply(lambda m: m.data),
            opts=pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(
                    # Never delete aws-auth: deleting a patch relinquishes its fields, which removes mapRoles
                    # and cuts every node and person off the cluster.
                    retain_on_delete=True,
                    depends_on=roles,
                ),
            ),
        )
        return merged.apply(lambda m: m.map_roles)


def _merge(
    plan: EnvironmentPlan,
    live_data: dict[str, str] | None,
    annotations: dict[str, str] | None,
    owner: str,
) -> awsauth.MergedAwsAuth:
    try:
        return awsauth.merge(
            plan.map_roles,
            plan.map_users,
            live_data,
            annotations,
            owner,
            plan.keep_map_roles,
            keep_hint=f"clusters.{plan.cluster}.keep_map_roles in config/environments.yaml",
        )
    except AwsAuthError as refusal:
        # RunError: the engine stops the preview with this one line instead of a stack trace.
        raise pulumi.RunError(f"{plan.cluster_name}: {refusal}") from None
