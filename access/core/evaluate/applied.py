"""A stack's part of the cluster's documents, read from the resources the engine is about to apply.

The policy pack (``policy/__main__.py``) hands every resource of the stack here, with its properties as the engine
will apply them (camelCase names, as the engine's resource states hold them). The result, a
:class:`~access.core.evaluate.documents.StackPart`, replaces the stack's own rendering in
:func:`access.core.evaluate.check_stack`, so the applied documents are evaluated and verified exactly as the rendered
ones are. Nothing here trusts the plan's bookkeeping for what is known: the plan is only used to name roles in
messages, to say which managed policies config attaches, and to stand in for a value the engine does not know yet.

Values unknown during a preview (:data:`UNKNOWN`):

- a role's ARN is never read: IAM makes it from the account, path and name (``names.role_arn``), all known;
- an access entry's or access-policy association's ``principalArn`` that is unknown is the ARN of the one resource
  the engine says it comes from (its property dependency): a role of this stack, or the entry it belongs to;
- a permission set inline policy's or account assignment's ``permissionSetArn`` is matched to the ARN of a
  permission set of this stack (its ``arn`` output) or, unknown, to the one resource its property dependency names;
- a group policy's ``policy`` and a permission set's ``inlinePolicy`` (built from role ARNs) and aws-auth's ``data``
  (merged with the live map) that are unknown are evaluated as the core renders them for the same group policy,
  permission set or map, and each such substitution is reported (``Reading.substituted``): the engine's own value
  is checked when the pack runs again after the update;
- any other unknown value is a problem: the pack cannot verify it, and says so as a mandatory violation.

A resource type this module does not know, or one it knows used in a way eks-access never declares (a ConfigMap
patch of another map, an aggregated ClusterRole, an access entry in another cluster, a managed policy config does
not attach, a second aws-auth patch), is a problem too: it could grant access the evaluation cannot see.

IAM Identity Center (``aws:ssoadmin``): a permission set is evaluated as the role Identity Center provisions for it
in the assignment's account, holding its inline policy, for the group it is assigned to. The assignment's
``principalId`` is the group's id in the identity store, which the program looks up by the group's DisplayName
(the ``identitystore.getGroup`` invoke); the pack cannot ask the identity store, so it takes the group from the
permission set's name (``eks.<team>.<env>``, which config gives exactly one team and so one group) and trusts the
program's lookup for the id. What it can check, it refuses: a permission set config does not declare for this
environment, an assignment to a ``USER`` or to another account or of a permission set this stack does not declare,
a second assignment or inline policy of one permission set, another Identity Center instance. Managed, customer
managed and boundary attachments of a permission set are types eks-access never declares, refused as such.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from access.core import awsauth, guardrails, iam, names
from access.core.evaluate.documents import (
    AccessEntryDocument,
    GroupPolicyDocument,
    MembershipDocument,
    PermissionSetDocument,
    RoleDocument,
    StackPart,
    aws_auth,
)
from access.core.plan.types import EnvironmentPlan, Manifest, PermissionSetPlan

GROUP = "aws:iam/group:Group"
USER = "aws:iam/user:User"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
USER_GROUP_MEMBERSHIP = "aws:iam/userGroupMembership:UserGroupMembership"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
PERMISSION_SET = "aws:ssoadmin/permissionSet:PermissionSet"
PERMISSION_SET_INLINE_POLICY = "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy"
ACCOUNT_ASSIGNMENT = "aws:ssoadmin/accountAssignment:AccountAssignment"
RBAC_V1 = "rbac.authorization.k8s.io/v1"
# Resource type -> (apiVersion, kind) of the manifest it applies.
MANIFEST_TYPES: dict[str, tuple[str, str]] = {
    "kubernetes:core/v1:NamespacePatch": ("v1", "Namespace"),
    "kubernetes:core/v1:ServiceAccount": ("v1", "ServiceAccount"),
    f"kubernetes:{RBAC_V1}:Role": (RBAC_V1, "Role"),
    f"kubernetes:{RBAC_V1}:ClusterRole": (RBAC_V1, "ClusterRole"),
    guardrails.ROLE_BINDING: (RBAC_V1, "RoleBinding"),
    guardrails.CLUSTER_ROLE_BINDING: (RBAC_V1, "ClusterRoleBinding"),
}
NAMESPACED_KINDS = frozenset({"ServiceAccount", "Role", "RoleBinding"})
MANIFEST_FIELDS = ("rules", "roleRef", "subjects", "automountServiceAccountToken")
# Types that grant nothing by themselves: the stack, providers, components, groups and users (memberships and
# policies give them access, and are read), the cluster stack's reference.
INERT_TYPES = frozenset(
    {
        "pulumi:pulumi:Stack",
        "pulumi:pulumi:StackReference",
        "eks-access:iam:EnvironmentIam",
        "eks-access:cluster:ClusterAccess",
        GROUP,
        USER,
    }
)
PROVIDER_PREFIX = "pulumi:providers:"
MANAGED_POLICY_RISK = "(a managed policy can let the role's sessions assume other roles)"
DEFAULT_ENTRY_TYPE = "STANDARD"  # aws_eks_access_entry's default type


class Unknown:
    """A value the engine does not know yet (during a preview)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class AppliedResource:
    """One resource of the stack as the engine will apply it: plain values, :data:`UNKNOWN` where not known."""

    type: str
    urn: str
    props: Mapping[str, Any]
    dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # property -> URNs it comes from


@dataclass(frozen=True)
class Reading:
    part: StackPart
    problems: tuple[str, ...]  # what the pack cannot verify or eks-access never declares: mandatory violations
    substituted: tuple[str, ...]  # unknown values evaluated as the core renders them (preview only)


class _Unverifiable(Exception):
    pass


def _label(resource: AppliedResource) -> str:
    return f"{resource.type} {resource.urn.rsplit('::', 1)[-1]}"


def _get(resource: AppliedResource, key: str, default: Any = None) -> Any:
    value = resource.props.get(key, default)
    if _holds_unknown(value):
        raise _Unverifiable(f"{_label(resource)}: {key} is not known during preview, so the pack cannot verify it")
    return value


def _holds_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_holds_unknown(v) for v in value.values())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return any(_holds_unknown(v) for v in value)
    return False


def _string(resource: AppliedResource, key: str) -> str:
    value = _get(resource, key)
    if not isinstance(value, str) or not value:
        raise _Unverifiable(f"{_label(resource)}: {key} is {value!r}, not a name eks-access declares")
    return value


def _strings(resource: AppliedResource, key: str) -> tuple[str, ...]:
    value = _get(resource, key) or []
    if not isinstance(value, Sequence) or isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise _Unverifiable(f"{_label(resource)}: {key} is {value!r}, not a list of names")
    return tuple(value)


def _policy(resource: AppliedResource, key: str) -> dict[str, Any]:
    text = _get(resource, key)
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise _Unverifiable(f"{_label(resource)}: {key} is not a policy document")
    return document


def _name_and_namespace(resource: AppliedResource) -> dict[str, Any]:
    """metadata.name and .namespace only (a patch's annotations may be unknown during preview; they grant nothing)."""
    metadata = resource.props.get("metadata")
    if not isinstance(metadata, Mapping):
        return {}
    out = {key: metadata.get(key) for key in ("name", "namespace") if key in metadata}
    if _holds_unknown(out):
        raise _Unverifiable(f"{_label(resource)}: metadata.name is not known during preview")
    return out


def _plain(value: Any) -> Any:
    """A property value as JSON holds it (the manifests the evaluator reads are plain dicts and lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


@dataclass
class _PermissionSet:
    planned: PermissionSetPlan
    arn: str | None  # its ``arn`` output (None while unknown)
    document: dict[str, Any] | None = None  # its inline policy
    account_id: str | None = None  # the account it is assigned in


class _Reader:
    def __init__(self, plan: EnvironmentPlan) -> None:
        self.plan = plan
        self.roles: list[RoleDocument] = []
        self.role_arns: dict[str, str] = {}  # URN -> ARN
        self.group_policies: list[GroupPolicyDocument] = []
        self.memberships: list[MembershipDocument] = []
        self.aws_auth: tuple[str, str] | None = None
        self.entries: dict[str, tuple[str, str, str | None, tuple[str, ...]]] = {}  # principal (lower) -> entry
        self.entry_principals: dict[str, str] = {}  # URN -> principal ARN
        self.policies: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}  # principal (lower) -> policies
        self.manifests: list[Manifest] = []
        self.problems: list[str] = []
        self.substituted: list[str] = []
        self.planned_roles = {r.name.lower(): r for r in plan.roles}
        self.planned_sets = {p.name: p for p in plan.permission_sets}
        self.permission_sets: dict[str, _PermissionSet] = {}  # URN -> what the stack declares of it

    # --- IAM ----------------------------------------------------------------------------------------------------

    def role(self, resource: AppliedResource) -> None:
        name = _string(resource, "name")
        path = _get(resource, "path") or "/"
        if not isinstance(path, str) or not path.startswith("/") or not path.endswith("/"):
            raise _Unverifiable(f"{_label(resource)}: path {path!r} is not an IAM path")
        planned = self.planned_roles.get(name.lower())
        arn = names.role_arn(self.plan.account_id, path, name)  # what IAM makes it: never read (unknown at preview)
        self.role_arns[resource.urn] = arn
        trust = _policy(resource, "assumeRolePolicy")
        key = planned.key if planned is not None else f"unplanned/{name}"
        self.roles.append(RoleDocument(arn, name, self.plan.account_id, trust, self.plan.environment, key))
        self._role_policies(resource, name)

    def _undeclared_managed_policies(self, role: str, policy_arns: Iterable[str]) -> list[str]:
        """The one rule for managed policies, as attachments or as a role's own list: only those config declares."""
        planned = self.planned_roles.get(role.lower())
        declared = planned.managed_policy_arns if planned is not None else ()
        return sorted(str(arn) for arn in policy_arns if arn not in declared)

    def _role_policies(self, resource: AppliedResource, name: str) -> None:
        """A role's own ``inlinePolicies``/``managedPolicyArns`` (deprecated in pulumi-aws v7, still honoured): the
        program sets neither, so an inline policy with a document, or a managed ARN config does not declare for the
        role, is a policy the evaluator would not see. After an update the engine reports what AWS holds: the
        attachments the program declares come back in ``managedPolicyArns`` and are allowed."""
        inline = resource.props.get("inlinePolicies") or []  # not _get: unknown is expected here, see below
        managed = resource.props.get("managedPolicyArns") or []
        for key, value in (("inlinePolicies", inline), ("managedPolicyArns", managed)):
            if _holds_unknown(value):  # computed: unknown before a create
                self.substituted.append(
                    f"{_label(resource)}: {key} is not known during preview; evaluated as config declares it, and "
                    "checked as applied when the pack runs after the update"
                )
        if _holds_unknown(inline) or _holds_unknown(managed):
            return
        if not isinstance(inline, list) or not isinstance(managed, list):
            raise _Unverifiable(f"{_label(resource)}: inlinePolicies or managedPolicyArns is not a list")
        if any(isinstance(p, dict) and p.get("policy") for p in inline):
            raise _Unverifiable(
                f"{_label(resource)}: role {name} has inline policies, which eks-access never writes (a role policy "
                "can let the role's sessions assume other roles)"
            )
        extra = self._undeclared_managed_policies(name, managed)
        if extra:
            raise _Unverifiable(
                f"{_label(resource)}: role {name} has managed policies config does not declare: {', '.join(extra)} "
                f"{MANAGED_POLICY_RISK}"
            )

    def role_policy_attachment(self, resource: AppliedResource) -> None:
        role = _string(resource, "role")
        policy_arn = _string(resource, "policyArn")
        if self._undeclared_managed_policies(role, [policy_arn]):
            raise _Unverifiable(
                f"{_label(resource)}: attaches {policy_arn} to role {role}, which config does not declare "
                f"{MANAGED_POLICY_RISK}"
            )

    def group_policy(self, resource: AppliedResource) -> None:
        group = _string(resource, "group")
        name = _string(resource, "name")
        if resource.props.get("policy") is UNKNOWN:
            rendered = next(
                (
                    p
                    for p in self.plan.group_policies
                    if p.group_name.lower() == group.lower() and p.policy_name == name
                ),
                None,
            )
            if rendered is None:
                raise _Unverifiable(
                    f"{_label(resource)}: policy is not known during preview, so the pack cannot verify it"
                )
            self.substituted.append(
                f"{_label(resource)}: policy is not known during preview (it is built from role ARNs); evaluated "
                "as config renders it, and checked as applied when the pack runs after the update"
            )
            document: dict[str, Any] = json.loads(json.dumps(rendered.document))
        else:
            document = _policy(resource, "policy")
        self.group_policies.append(GroupPolicyDocument(self.plan.people_account_id, group, name, document))

    def membership(self, resource: AppliedResource) -> None:
        user = _string(resource, "user")
        self.memberships.append(MembershipDocument(self.plan.people_account_id, user, _strings(resource, "groups")))

    # --- IAM Identity Center -------------------------------------------------------------------------------------

    def _instance(self, resource: AppliedResource) -> None:
        instance = _string(resource, "instanceArn")
        if instance != self.plan.identity_center_instance_arn:
            raise _Unverifiable(
                f"{_label(resource)}: in Identity Center instance {instance}, not config's "
                f"{self.plan.identity_center_instance_arn or '(none: people.identity_center is not set)'}"
            )

    def permission_set(self, resource: AppliedResource) -> None:
        self._instance(resource)
        name = _string(resource, "name")
        planned = self.planned_sets.get(name)
        if planned is None:
            raise _Unverifiable(
                f"{_label(resource)}: permission set {name}, which config does not declare for environment "
                f"{self.plan.environment} (the pack could not tell which group its assignments give it to)"
            )
        if any(p.planned.name == name for p in self.permission_sets.values()):
            raise _Unverifiable(f"{_label(resource)}: a second permission set named {name}")
        arn = resource.props.get("arn")
        self.permission_sets[resource.urn] = _PermissionSet(planned, arn if isinstance(arn, str) and arn else None)

    def _linked_set(self, resource: AppliedResource) -> _PermissionSet:
        """The permission set of this stack that ``permissionSetArn`` names: by its ARN, or (unknown during
        preview) by the engine's property dependency."""
        value = resource.props.get("permissionSetArn")
        if isinstance(value, str):
            for found in self.permission_sets.values():
                if found.arn == value:
                    return found
        sources = resource.dependencies.get("permissionSetArn", ())
        if len(sources) == 1 and sources[0] in self.permission_sets:
            linked = self.permission_sets[sources[0]]
            if value is UNKNOWN or linked.arn is None:
                return linked
        if value is UNKNOWN:
            raise _Unverifiable(
                f"{_label(resource)}: permissionSetArn is not known during preview, so the pack cannot verify it"
            )
        raise _Unverifiable(
            f"{_label(resource)}: permission set {value!r} is not one this stack declares (the pack cannot tell "
            "what it allows or to whom)"
        )

    def permission_set_inline_policy(self, resource: AppliedResource) -> None:
        self._instance(resource)
        linked = self._linked_set(resource)
        if linked.document is not None:
            raise _Unverifiable(
                f"{_label(resource)}: a second inline policy of permission set {linked.planned.name} (the last "
                "writer would win)"
            )
        if resource.props.get("inlinePolicy") is UNKNOWN:
            self.substituted.append(
                f"{_label(resource)}: inlinePolicy is not known during preview (it is built from role ARNs); "
                "evaluated as config renders it, and checked as applied when the pack runs after the update"
            )
            linked.document = json.loads(iam.policy_json(linked.planned.document))
        else:
            linked.document = _policy(resource, "inlinePolicy")

    def account_assignment(self, resource: AppliedResource) -> None:
        self._instance(resource)
        linked = self._linked_set(resource)
        name = linked.planned.name
        principal_type = _get(resource, "principalType")
        if principal_type != "GROUP":
            raise _Unverifiable(
                f"{_label(resource)}: assigns permission set {name} to a {principal_type}; eks-access assigns it to "
                f"the Identity Center group {linked.planned.group} only"
            )
        target_type, target = _get(resource, "targetType"), _get(resource, "targetId")
        if target_type != "AWS_ACCOUNT" or target != linked.planned.account_id:
            raise _Unverifiable(
                f"{_label(resource)}: assigns permission set {name} in {target_type} {target}, not in this "
                f"environment's account {linked.planned.account_id}"
            )
        if linked.account_id is not None:
            raise _Unverifiable(
                f"{_label(resource)}: a second assignment of permission set {name} (eks-access assigns it once, to "
                f"the group {linked.planned.group}; the pack cannot tell which group another one names)"
            )
        # principalId is the identity store's id of the group (the program's getGroup by DisplayName): trusted.
        linked.account_id = target

    # --- the cluster's mappings ---------------------------------------------------------------------------------

    def config_map_patch(self, resource: AppliedResource) -> None:
        if not guardrails.is_aws_auth({"metadata": _name_and_namespace(resource)}):
            raise _Unverifiable(
                f"{_label(resource)}: patches a ConfigMap other than {awsauth.NAMESPACE}/{awsauth.NAME}"
            )
        if self.aws_auth is not None:
            raise _Unverifiable(f"{_label(resource)}: a second patch of aws-auth (the last writer would win)")
        data = resource.props.get("data")
        if _holds_unknown(data):
            self.substituted.append(
                f"{_label(resource)}: data is not known during preview (merged with the live map); evaluated as "
                "config renders it, and checked as applied when the pack runs after the update"
            )
            self.aws_auth = aws_auth(self.plan)
            return
        data = data or {}
        map_roles, map_users = data.get(awsauth.ROLES_KEY, ""), data.get(awsauth.USERS_KEY, "")
        if not isinstance(map_roles, str) or not isinstance(map_users, str):
            raise _Unverifiable(f"{_label(resource)}: mapRoles and mapUsers must be strings")
        self.aws_auth = (map_roles, map_users)

    def config_map(self, resource: AppliedResource) -> None:
        # The live aws-auth the stack reads before patching it (a read, not something applied). A ConfigMap
        # resource that owns aws-auth is refused by the aws-auth-patched-never-owned resource policy.
        if not guardrails.is_aws_auth({"metadata": _name_and_namespace(resource)}):
            raise _Unverifiable(f"{_label(resource)}: a ConfigMap eks-access does not declare")

    def principal(self, resource: AppliedResource, known: dict[str, str]) -> str:
        value = resource.props.get("principalArn")
        if value is UNKNOWN:
            sources = resource.dependencies.get("principalArn", ())
            if len(sources) == 1 and sources[0] in known:
                return known[sources[0]]
        return _string(resource, "principalArn")

    def _in_cluster(self, resource: AppliedResource) -> None:
        cluster = _string(resource, "clusterName")
        if cluster != self.plan.cluster_name:
            raise _Unverifiable(
                f"{_label(resource)}: in cluster {cluster}, not this stack's cluster {self.plan.cluster_name}"
            )

    def access_entry(self, resource: AppliedResource) -> None:
        self._in_cluster(resource)
        principal = self.principal(resource, self.role_arns)
        entry_type = _get(resource, "type") or DEFAULT_ENTRY_TYPE
        username = _get(resource, "userName")
        if not isinstance(entry_type, str) or not (username is None or isinstance(username, str)):
            raise _Unverifiable(f"{_label(resource)}: type and userName must be strings")
        if principal.lower() in self.entries:
            raise _Unverifiable(f"{_label(resource)}: a second access entry for {principal}")
        self.entries[principal.lower()] = (principal, entry_type, username, _strings(resource, "kubernetesGroups"))
        self.entry_principals[resource.urn] = principal

    def access_policy_association(self, resource: AppliedResource) -> None:
        self._in_cluster(resource)
        principal = self.principal(resource, {**self.role_arns, **self.entry_principals})
        policy_arn = _string(resource, "policyArn")
        scope = _get(resource, "accessScope") or {}
        scope_type = scope.get("type") if isinstance(scope, Mapping) else None
        namespaces = scope.get("namespaces") or [] if isinstance(scope, Mapping) else []
        if scope_type not in ("cluster", "namespace") or not all(isinstance(n, str) for n in namespaces):
            raise _Unverifiable(f"{_label(resource)}: accessScope {scope!r} is not a cluster or namespace scope")
        self.policies.setdefault(principal.lower(), []).append((policy_arn, scope_type, tuple(namespaces)))

    # --- RBAC ---------------------------------------------------------------------------------------------------

    def manifest(self, resource: AppliedResource) -> None:
        api_version, kind = MANIFEST_TYPES[resource.type]
        # Name, namespace and labels (the level label names a Role's level in messages); the rest of the metadata
        # grants nothing, and fields the API server fills in may be unknown during preview.
        raw = resource.props.get("metadata")
        raw = raw if isinstance(raw, Mapping) else {}
        metadata = _plain({key: raw[key] for key in ("name", "namespace", "labels") if raw.get(key) is not None})
        if _holds_unknown(metadata):
            raise _Unverifiable(
                f"{_label(resource)}: metadata is not known during preview, so the pack cannot verify it"
            )
        if not isinstance(metadata.get("name"), str):
            raise _Unverifiable(f"{_label(resource)}: no metadata.name (a generated name eks-access never declares)")
        if kind in NAMESPACED_KINDS and not isinstance(metadata.get("namespace"), str):
            raise _Unverifiable(f"{_label(resource)}: no metadata.namespace (the provider's default would apply)")
        if _get(resource, "aggregationRule") is not None:
            raise _Unverifiable(
                f"{_label(resource)}: an aggregated ClusterRole: its rules are whatever the controller aggregates"
            )
        manifest: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": metadata}
        for key in MANIFEST_FIELDS:
            value = _get(resource, key)
            if value is not None:
                manifest[key] = _plain(value)
        self.manifests.append(manifest)

    # --- the part -----------------------------------------------------------------------------------------------

    def part(self) -> StackPart:
        for principal in sorted(set(self.policies) - set(self.entries)):
            self.problems.append(
                f"an access policy is associated with {principal}, which has no access entry in this stack"
            )
        entries = tuple(
            AccessEntryDocument(arn, entry_type, username, groups, tuple(sorted(self.policies.get(key, []))))
            for key, (arn, entry_type, username, groups) in sorted(self.entries.items())
        )
        return StackPart(
            environment=self.plan.environment,
            roles=tuple(self.roles),
            group_policies=tuple(self.group_policies),
            memberships=tuple(self.memberships),
            aws_auth=self.aws_auth,
            access_entries=entries,
            manifests=tuple(self.manifests),
            permission_sets=tuple(
                sorted(
                    (
                        PermissionSetDocument(
                            p.account_id,
                            p.planned.name,
                            p.planned.group,
                            p.document or {"Version": iam.VERSION, "Statement": []},
                        )
                        for p in self.permission_sets.values()
                        if p.account_id is not None
                    ),
                    key=lambda d: (d.account_id, d.name),
                )
            ),
        )


# Order matters where one resource's ARN is resolved from another's: roles and permission sets first, then entries,
# inline policies and assignments, then associations.
_READERS = {
    guardrails.ROLE: (0, _Reader.role),
    ROLE_POLICY_ATTACHMENT: (1, _Reader.role_policy_attachment),
    GROUP_POLICY: (1, _Reader.group_policy),
    USER_GROUP_MEMBERSHIP: (1, _Reader.membership),
    PERMISSION_SET: (0, _Reader.permission_set),
    PERMISSION_SET_INLINE_POLICY: (1, _Reader.permission_set_inline_policy),
    ACCOUNT_ASSIGNMENT: (1, _Reader.account_assignment),
    guardrails.CONFIG_MAP_PATCH: (1, _Reader.config_map_patch),
    guardrails.CONFIG_MAP: (1, _Reader.config_map),
    guardrails.ACCESS_ENTRY: (1, _Reader.access_entry),
    guardrails.ACCESS_POLICY_ASSOCIATION: (2, _Reader.access_policy_association),
    **{t: (1, _Reader.manifest) for t in MANIFEST_TYPES},
}


def read_stack(plan: EnvironmentPlan, resources: Iterable[AppliedResource]) -> Reading:
    """The stack's part of its cluster's documents, from the resources the engine applies, and what of them cannot
    be verified. ``plan`` is the stack's plan from config (see the module's docstring for what it is used for)."""
    reader = _Reader(plan)
    known: list[tuple[int, AppliedResource]] = []
    for resource in resources:
        if resource.type in INERT_TYPES or resource.type.startswith(PROVIDER_PREFIX):
            continue
        if resource.type not in _READERS:
            reader.problems.append(
                f"{_label(resource)}: a resource type eks-access does not declare, which the pack cannot evaluate "
                "(it could grant access)"
            )
            continue
        known.append((_READERS[resource.type][0], resource))
    for _, resource in sorted(known, key=lambda item: item[0]):
        try:
            _READERS[resource.type][1](reader, resource)
        except _Unverifiable as problem:
            reader.problems.append(str(problem))
    part = reader.part()
    # sorted: the engine sends resources in the order they registered, which need not be the same twice
    return Reading(part, tuple(sorted(reader.problems)), tuple(sorted(reader.substituted)))
