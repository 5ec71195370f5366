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
from access.core.plan.auth import NODE_ENTRY_TYPES, node_entry_key
from access.core.plan.rbac import manifest_id
from access.core.plan.types import EnvironmentPlan
from access.errors import AwsAuthError, escape_controls
from access.stack.run_errors import one_line_errors, stop

PATCH_FORCE = "pulumi.com/patchForce"
# A fixed server-side-apply field manager for the aws-auth patch (else pulumi-kubernetes picks a random one), so the
# live managedFields tell whether anyone but this stack touched mapRoles since its last write.
PATCH_FIELD_MANAGER = "pulumi.com/patchFieldManager"
FIELD_MANAGER = "eks-access"


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


def entry_resource_name(component: str, key: str) -> str:
    """The Pulumi name of an access entry (its URN's last part): stable, from the plan's key."""
    return f"{component}-entry-{key.replace('/', '-')}"


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
            self.map_roles = self._aws_auth(name, plan, owner, read_live_aws_auth, k8s_opts)

        self.access_entries: dict[str, aws.eks.AccessEntry] = {}
        for entry in plan.access_entries if manage_access_entries else []:
            principal = roles[entry.role_key].arn if entry.role_key else entry.principal_arn
            resource = aws.eks.AccessEntry(
                entry_resource_name(name, entry.key),
                cluster_name=plan.cluster_name,
                principal_arn=principal,
                type=entry.type,
                user_name=entry.username,
                kubernetes_groups=list(entry.kubernetes_groups) or None,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # One entry per principal: a replacement (a type change) must delete the old entry first.
                    delete_before_replace=True,
                    # A node entry never goes by accident: the engine refuses to delete or replace a protected
                    # resource (also when config stops declaring it), until `pulumi state unprotect` says so.
                    protect=True if entry.type in NODE_ENTRY_TYPES else None,
                ),
            )
            self.access_entries[entry.key] = resource
            for policy in entry.policies:
                scope = aws.eks.AccessPolicyAssociationAccessScopeArgs(
                    type=policy.scope, namespaces=list(policy.namespaces) or None
                )
                aws.eks.AccessPolicyAssociation(
                    f"{entry_resource_name(name, entry.key)}-{policy.policy_arn.rsplit('/', 1)[-1]}",
                    cluster_name=plan.cluster_name,
                    principal_arn=resource.principal_arn,
                    policy_arn=policy.policy_arn,
                    access_scope=scope,
                    # Keyed by cluster, principal and policy: created first, the new association would be the
                    # old one, and deleting the old one afterwards would remove the policy.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[resource], delete_before_replace=True),
                )

        if manage_access_entries and plan.auth_mode.writes_access_entries and plan.owns_cluster_objects:
            _name_retired_node_entries(name, plan)

        self.manifests: dict[str, pulumi.CustomResource] = {}
        namespaces: dict[str, pulumi.CustomResource] = {}
        cluster_roles: dict[str, pulumi.CustomResource] = {}
        for manifest in plan.manifests:
            kind = manifest["kind"]
            meta = manifest["metadata"]
            depends = [namespaces[meta["namespace"]]] if meta.get("namespace") in namespaces else []
            ref = manifest.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole" and ref.get("name") in cluster_roles:
                # Created before the bindings that reference it, deleted after them: no binding to nothing.
                depends.append(cluster_roles[ref["name"]])
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
            elif kind == "ClusterRole":
                cluster_roles[meta["name"]] = resource
        self.register_outputs({"mapRoles": self.map_roles})

    def _aws_auth(
        self,
        name: str,
        plan: EnvironmentPlan,
        owner: str,
        read_live: bool,
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        """Patch kube-system/aws-auth in place (server-side apply): created when absent, never replaced or deleted.

        With ``read_live`` the live map is read first and merged (refusing unknown entries and node entries config
        stopped mapping without retiring them). The patch depends on nothing but that read, so it is written right
        after it: the window in which EKS could add an entry the patch then overwrites is as short as the engine
        makes it. It is forced only when someone other than this stack's field manager owns a data key it writes;
        otherwise a change made between the read and the write makes the API server refuse the apply with a
        conflict instead of being overwritten. Without ``read_live`` (a cluster that has no aws-auth yet, where
        reading would fail the preview with "resource does not exist") the patch is never forced: if the map exists
        after all, the API server reports a field conflict instead of letting us overwrite it.
        """
        if read_live:
            live = k8s.core.v1.ConfigMap.get(f"{name}-aws-auth-live", f"{awsauth.NAMESPACE}/{awsauth.NAME}", opts=opts)
            merged = pulumi.Output.all(live.data, live.metadata).apply(
                one_line_errors(lambda args: _merge(plan, args[0], _metadata(args[1]), owner))
            )
        else:
            merged = pulumi.Output.from_input(_merge(plan, None, None, owner))
        self.aws_auth = k8s.core.v1.ConfigMapPatch(
            f"{name}-aws-auth",
            metadata={
                "name": awsauth.NAME,
                "namespace": awsauth.NAMESPACE,
                "annotations": merged.apply(lambda m: _patch_annotations(m, read_live)),
            },
            # Only the keys we own: server-side apply leaves mapAccounts (and mapUsers when not ours) alone.
            data=merged.apply(lambda m: m.merged.data),
            opts=pulumi.ResourceOptions.merge(
                opts,
                pulumi.ResourceOptions(
                    # Never delete aws-auth: deleting a patch relinquishes its fields, which removes mapRoles
                    # and cuts every node and person off the cluster.
                    retain_on_delete=True,
                ),
            ),
        )
        return merged.apply(lambda m: m.merged.map_roles)


class _Merged:
    """The merged aws-auth and whether its patch must be forced (decided from the live object's managedFields)."""

    def __init__(self, merged: awsauth.MergedAwsAuth, force: bool) -> None:
        self.merged = merged
        self.force = force


def _patch_annotations(merged: _Merged, read_live: bool) -> dict[str, str]:
    out = {**merged.merged.annotations, PATCH_FIELD_MANAGER: FIELD_MANAGER}
    if read_live and merged.force:
        out[PATCH_FORCE] = "true"
    return out


def _metadata(metadata: Any) -> dict[str, Any]:
    """Annotations and managedFields of the live ConfigMap, from the SDK's ObjectMeta (snake_case getters) or a dict."""
    if metadata is None:
        return {}
    get = metadata.get if isinstance(metadata, dict) else (lambda key: getattr(metadata, key, None))
    fields = []
    for entry in get("managed_fields") or get("managedFields") or []:
        entry_get = entry.get if isinstance(entry, dict) else (lambda key, e=entry: getattr(e, key, None))
        fields.append({"manager": entry_get("manager"), "fieldsV1": entry_get("fields_v1") or entry_get("fieldsV1")})
    return {"annotations": get("annotations"), "managedFields": fields}


def _merge(
    plan: EnvironmentPlan,
    live_data: dict[str, str] | None,
    live_metadata: dict[str, Any] | None,
    owner: str,
) -> _Merged:
    where = f"clusters.{plan.cluster}"
    try:
        merged = awsauth.merge(
            plan.map_roles,
            plan.map_users,
            live_data,
            (live_metadata or {}).get("annotations"),
            owner,
            plan.keep_map_roles,
            keep_hint=f"{where}.keep_map_roles in {plan.environments_file}",
            retire=plan.retired_node_roles,
            retire_hint=f"{where}.retired_node_roles in {plan.environments_file}",
            users_hint=f"map_users in {plan.access_file}",
        )
    except AwsAuthError as refusal:
        # RunError: the engine stops the preview with this one line instead of a stack trace.
        stop(refusal, f"{plan.cluster_name}: ")
    for arn in merged.retired:
        pulumi.log.warn(
            escape_controls(
                f"{plan.cluster_name}: aws-auth: removing the node mapping of {arn} ({where}.retired_node_roles in "
                f"{plan.environments_file}); nodes still running with this role leave the cluster"
            )
        )
    force = awsauth.patch_must_force((live_metadata or {}).get("managedFields"), FIELD_MANAGER, merged.data.keys())
    return _Merged(merged, force)


def _name_retired_node_entries(name: str, plan: EnvironmentPlan) -> None:
    """Say, in the preview, how a retired node role's access entry goes: it is protected, so the engine refuses to
    delete it until `pulumi state unprotect` is run for exactly that entry (the explicit decision, per ARN)."""
    for arn in plan.retired_node_roles:
        resource = entry_resource_name(name, node_entry_key(arn))
        urn = (
            f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::eks-access:cluster:ClusterAccess"
            f"$aws:eks/accessEntry:AccessEntry::{resource}"
        )
        pulumi.log.warn(
            escape_controls(
                f"{plan.cluster_name}: node access entry of {arn} is retired (clusters.{plan.cluster}."
                f"retired_node_roles in {plan.environments_file}); if this stack created it, it is protected: "
                f"run pulumi state unprotect '{urn}' and this update deletes it"
            )
        )
