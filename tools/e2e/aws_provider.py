"""A local stand-in for the Pulumi AWS provider plugin (``pulumi-resource-aws``), backed by moto's server.

The real plugin cannot be built from the registries (docs/e2e.md). This one serves, under the package name ``aws``,
exactly the types and the invoke eks-access declares, and implements them with boto3 against moto's IAM/STS/EKS
server (``AWS_ENDPOINT_URL``), so IAM's own rules apply where moto implements them: names unique ignoring case,
a membership for a missing user fails, a role or group with policies cannot be deleted.

Replacement follows the real provider's schema (Terraform ForceNew): Role name/namePrefix/path; RolePolicyAttachment
role/policyArn; GroupPolicy group/name/namePrefix; UserGroupMembership user; AccessEntry clusterName/principalArn/
type; AccessPolicyAssociation all four inputs. Everything else is updated in place with the IAM call the real
provider makes. The engine applies deleteBeforeReplace from the program's resource options.

Stand-ins (said again in docs/e2e.md):
- ``aws:eks/getCluster:getCluster`` reads the cluster from moto (moto has no API server), then returns the REAL
  test API server's endpoint and CA (E2E_KUBE_ENDPOINT, E2E_KUBE_CA_DATA) and the authentication mode from the moto
  cluster's tag ``e2e/authenticationMode`` (moto's EKS has no accessConfig).
- moto 5.2 has no EKS access entries: AccessEntry and AccessPolicyAssociation fail with that reason.
- The provider's Configure checks ``aws:allowedAccountIds`` against STS GetCallerIdentity, as the real one does.

Usage (as the engine starts a resource plugin): aws_provider.py ENGINE_ADDRESS; prints its port on stdout.
"""

from __future__ import annotations

import json
import os
import random
import signal
import string
import threading
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import boto3
import grpc
from botocore.exceptions import ClientError
from google.protobuf import empty_pb2, struct_pb2
from google.protobuf.json_format import MessageToDict
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

VERSION = os.environ.get("E2E_AWS_PROVIDER_VERSION", "0.0.0")
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's "computed" sentinel

ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
GROUP = "aws:iam/group:Group"
USER = "aws:iam/user:User"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
MEMBERSHIP = "aws:iam/userGroupMembership:UserGroupMembership"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
GET_CLUSTER = "aws:eks/getCluster:getCluster"

# ForceNew properties of the real provider's schema, per type.
REPLACE_ON = {
    ROLE: {"name", "namePrefix", "path"},
    ATTACHMENT: {"role", "policyArn"},
    GROUP: set(),
    USER: set(),
    GROUP_POLICY: {"group", "name", "namePrefix"},
    MEMBERSHIP: {"user"},
    ACCESS_ENTRY: {"clusterName", "principalArn", "type"},
    ACCESS_POLICY: {"clusterName", "principalArn", "policyArn", "accessScope"},
}
JSON_PROPS = {"assumeRolePolicy", "policy"}  # compared as JSON documents, as the real provider does
DEFAULTS = {
    ROLE: {"path": "/", "maxSessionDuration": 3600, "forceDetachPolicies": False},
    GROUP: {"path": "/"},
    USER: {"path": "/", "forceDestroy": False},
}
AUTONAMED = {ROLE, GROUP, USER, GROUP_POLICY}


class ProviderError(Exception):
    """A failure the engine shows as the operation's error."""


def _plain(value: Any) -> Any:
    """protobuf Struct values -> Python (whole floats back to ints)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _props(struct: struct_pb2.Struct) -> dict[str, Any]:
    return _plain(MessageToDict(struct)) if struct is not None else {}


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update({k: v for k, v in props.items() if v is not None})
    return s


def _is_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, list):
        return any(_is_unknown(v) for v in value)
    if isinstance(value, dict):
        return any(_is_unknown(v) for v in value.values())
    return False


def _same(key: str, old: Any, new: Any) -> bool:
    if key in JSON_PROPS and isinstance(old, str) and isinstance(new, str):
        try:
            return json.loads(old) == json.loads(new)
        except json.JSONDecodeError:
            return old == new
    if key == "tags":
        return (old or {}) == (new or {})
    return old == new


def _tags(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())]


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else value


class Aws:
    """The boto3 clients for moto, and the resource operations."""

    def __init__(self, region: str) -> None:
        session = boto3.session.Session(region_name=region)
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        self.iam = session.client("iam", endpoint_url=endpoint)
        self.sts = session.client("sts", endpoint_url=endpoint)
        self.eks = session.client("eks", endpoint_url=endpoint)

    # --- IAM roles ---------------------------------------------------------------------------------------------
    def role_state(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        role = self.iam.get_role(RoleName=name)["Role"]
        tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        attached = self.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        inline = self.iam.list_role_policies(RoleName=name)["PolicyNames"]
        doc = role["AssumeRolePolicyDocument"]
        live_doc = doc if isinstance(doc, str) else json.dumps(doc)
        # Like the real provider: keep the configured text when it is the same document.
        given = inputs.get("assumeRolePolicy")
        assume = given if isinstance(given, str) and _same("assumeRolePolicy", given, live_doc) else live_doc
        return {
            **inputs,
            "name": role["RoleName"],
            "path": role["Path"],
            "arn": role["Arn"],
            "uniqueId": role["RoleId"],
            "createDate": _iso(role.get("CreateDate")),
            "assumeRolePolicy": assume,
            "description": role.get("Description") or inputs.get("description"),
            "maxSessionDuration": role.get("MaxSessionDuration", 3600),
            "permissionsBoundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            "tags": tags or inputs.get("tags"),
            "tagsAll": tags,
            "managedPolicyArns": sorted(p["PolicyArn"] for p in attached),
            "inlinePolicies": [{"name": n} for n in sorted(inline)],
        }

    def role_create(self, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "RoleName": p["name"],
            "Path": p.get("path", "/"),
            "AssumeRolePolicyDocument": p["assumeRolePolicy"],
            "MaxSessionDuration": p.get("maxSessionDuration", 3600),
            "Tags": _tags(p.get("tags")),
        }
        if p.get("description"):
            kwargs["Description"] = p["description"]
        if p.get("permissionsBoundary"):
            kwargs["PermissionsBoundary"] = p["permissionsBoundary"]
        self.iam.create_role(**kwargs)
        return p["name"], self.role_state(p["name"], p)

    def role_update(self, rid: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        if not _same("assumeRolePolicy", old.get("assumeRolePolicy"), new.get("assumeRolePolicy")):
            self.iam.update_assume_role_policy(RoleName=rid, PolicyDocument=new["assumeRolePolicy"])
        if old.get("description") != new.get("description") or old.get("maxSessionDuration") != new.get(
            "maxSessionDuration"
        ):
            self.iam.update_role(
                RoleName=rid,
                Description=new.get("description") or "",
                MaxSessionDuration=new.get("maxSessionDuration", 3600),
            )
        if old.get("permissionsBoundary") != new.get("permissionsBoundary"):
            if new.get("permissionsBoundary"):
                self.iam.put_role_permissions_boundary(RoleName=rid, PermissionsBoundary=new["permissionsBoundary"])
            else:
                self.iam.delete_role_permissions_boundary(RoleName=rid)
        old_tags, new_tags = old.get("tags") or {}, new.get("tags") or {}
        if removed := [k for k in old_tags if k not in new_tags]:
            self.iam.untag_role(RoleName=rid, TagKeys=removed)
        if changed := {k: v for k, v in new_tags.items() if old_tags.get(k) != v}:
            self.iam.tag_role(RoleName=rid, Tags=_tags(changed))
        return self.role_state(rid, new)

    def role_delete(self, rid: str, p: dict[str, Any]) -> None:
        if p.get("forceDetachPolicies"):
            for policy in self.iam.list_attached_role_policies(RoleName=rid)["AttachedPolicies"]:
                self.iam.detach_role_policy(RoleName=rid, PolicyArn=policy["PolicyArn"])
            for name in self.iam.list_role_policies(RoleName=rid)["PolicyNames"]:
                self.iam.delete_role_policy(RoleName=rid, PolicyName=name)
        # The real provider removes the role from its instance profiles first, then DeleteRole.
        for profile in self.iam.list_instance_profiles_for_role(RoleName=rid)["InstanceProfiles"]:
            self.iam.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"], RoleName=rid)
        self.iam.delete_role(RoleName=rid)

    # --- role policy attachments -------------------------------------------------------------------------------
    def attachment_create(self, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.iam.attach_role_policy(RoleName=p["role"], PolicyArn=p["policyArn"])
        return f"{p['role']}-{_suffix()}", dict(p)

    def attachment_delete(self, rid: str, p: dict[str, Any]) -> None:
        self.iam.detach_role_policy(RoleName=p["role"], PolicyArn=p["policyArn"])

    # --- groups ------------------------------------------------------------------------------------------------
    def group_state(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        group = self.iam.get_group(GroupName=name)["Group"]
        return {
            **inputs,
            "name": group["GroupName"],
            "path": group["Path"],
            "arn": group["Arn"],
            "uniqueId": group["GroupId"],
        }

    def group_create(self, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.iam.create_group(GroupName=p["name"], Path=p.get("path", "/"))
        return p["name"], self.group_state(p["name"], p)

    def group_update(self, rid: str, old: dict[str, Any], new: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.iam.update_group(GroupName=rid, NewGroupName=new["name"], NewPath=new.get("path", "/"))
        return new["name"], self.group_state(new["name"], new)

    def group_delete(self, rid: str, p: dict[str, Any]) -> None:
        self.iam.delete_group(GroupName=rid)

    # --- users -------------------------------------------------------------------------------------------------
    def user_state(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        user = self.iam.get_user(UserName=name)["User"]
        tags = {t["Key"]: t["Value"] for t in user.get("Tags", [])}
        return {
            **inputs,
            "name": user["UserName"],
            "path": user["Path"],
            "arn": user["Arn"],
            "uniqueId": user["UserId"],
            "tagsAll": tags,
        }

    def user_create(self, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.iam.create_user(UserName=p["name"], Path=p.get("path", "/"), Tags=_tags(p.get("tags")))
        return p["name"], self.user_state(p["name"], p)

    def user_update(self, rid: str, old: dict[str, Any], new: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if old.get("name") != new.get("name") or old.get("path") != new.get("path"):
            self.iam.update_user(UserName=rid, NewUserName=new["name"], NewPath=new.get("path", "/"))
        rid = new["name"]
        old_tags, new_tags = old.get("tags") or {}, new.get("tags") or {}
        if removed := [k for k in old_tags if k not in new_tags]:
            self.iam.untag_user(UserName=rid, TagKeys=removed)
        if changed := {k: v for k, v in new_tags.items() if old_tags.get(k) != v}:
            self.iam.tag_user(UserName=rid, Tags=_tags(changed))
        return rid, self.user_state(rid, new)

    def user_delete(self, rid: str, p: dict[str, Any]) -> None:
        self.iam.delete_user(UserName=rid)

    # --- group inline policies ---------------------------------------------------------------------------------
    def group_policy_create(self, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.iam.put_group_policy(GroupName=p["group"], PolicyName=p["name"], PolicyDocument=p["policy"])
        return f"{p['group']}:{p['name']}", dict(p)

    def group_policy_update(self, rid: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        self.iam.put_group_policy(GroupName=new["group"], PolicyName=new["name"], PolicyDocument=new["policy"])
        return dict(new)

    def group_policy_delete(self, rid: str, p: dict[str, Any]) -> None:
        self.iam.delete_group_policy(GroupName=p["group"], PolicyName=p["name"])

    # --- user group memberships (non-exclusive) ----------------------------------------------------------------
    def membership_create(self, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        for group in p.get("groups", []):
            self.iam.add_user_to_group(GroupName=group, UserName=p["user"])
        return f"terraform-{_suffix(26)}", dict(p)

    def membership_update(self, rid: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        before, after = set(old.get("groups", [])), set(new.get("groups", []))
        for group in sorted(before - after):
            self.iam.remove_user_from_group(GroupName=group, UserName=new["user"])
        for group in sorted(after - before):
            self.iam.add_user_to_group(GroupName=group, UserName=new["user"])
        return dict(new)

    def membership_delete(self, rid: str, p: dict[str, Any]) -> None:
        for group in p.get("groups", []):
            try:
                self.iam.remove_user_from_group(GroupName=group, UserName=p["user"])
            except ClientError as error:
                if error.response["Error"]["Code"] != "NoSuchEntity":
                    raise

    # --- EKS -----------------------------------------------------------------------------------------------------
    def no_access_entries(self, *_: Any) -> Any:
        raise ProviderError("EKS access entries are not available in the e2e stand-in: moto has no access entries")

    def get_cluster(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args["name"]
        try:
            cluster = self.eks.describe_cluster(name=name)["cluster"]
        except ClientError as error:
            raise ProviderError(f"reading EKS Cluster ({name}): couldn't find resource ({error})") from None
        tags = cluster.get("tags") or {}
        mode = tags.get("e2e/authenticationMode") or (cluster.get("accessConfig") or {}).get("authenticationMode")
        return {
            "id": name,
            "name": name,
            "arn": cluster["arn"],
            "endpoint": os.environ["E2E_KUBE_ENDPOINT"],
            "certificateAuthorities": [{"data": os.environ["E2E_KUBE_CA_DATA"]}],
            "accessConfigs": [
                {"authenticationMode": mode or "CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True}
            ],
            "roleArn": cluster.get("roleArn"),
            "status": cluster.get("status"),
            "version": cluster.get("version"),
            "platformVersion": cluster.get("platformVersion"),
            "createdAt": _iso(cluster.get("createdAt")),
            "tags": {k: v for k, v in tags.items() if not k.startswith("e2e/")},
        }


def _suffix(n: int = 20) -> str:
    return "".join(random.choices(string.digits, k=n))


class Provider(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self) -> None:
        self.aws: Aws | None = None

    # --- gRPC plumbing -------------------------------------------------------------------------------------------
    def _call(self, context, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ProviderError as error:
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
        except ClientError as error:
            err = error.response.get("Error", {})
            context.abort(grpc.StatusCode.UNKNOWN, f"{error.operation_name}: {err.get('Code')}: {err.get('Message')}")
        except KeyError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"missing required property {error}")

    def _client(self) -> Aws:
        if self.aws is None:
            raise ProviderError("provider not configured")
        return self.aws

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=VERSION)

    def GetSchema(self, request, context):
        return provider_pb2.GetSchemaResponse(schema=json.dumps({"name": "aws", "version": VERSION}))

    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        olds, news = _props(request.olds), _props(request.news)
        keys = sorted(k for k in set(olds) | set(news) if k != "version" and olds.get(k) != news.get(k))
        changes = provider_pb2.DiffResponse.DIFF_SOME if keys else provider_pb2.DiffResponse.DIFF_NONE
        return provider_pb2.DiffResponse(changes=changes, diffs=keys)

    def Configure(self, request, context):
        args = _props(request.args) if request.HasField("args") else {}
        variables = dict(request.variables)

        def setting(key: str) -> Any:
            raw = args[key] if key in args else variables.get(f"aws:config:{key}", variables.get(f"aws:{key}"))
            if isinstance(raw, str) and raw[:1] in "[{":  # structured config arrives as JSON text
                return json.loads(raw)
            return raw

        region = setting("region") or os.environ.get("AWS_REGION") or "us-east-1"

        def configure() -> provider_pb2.ConfigureResponse:
            self.aws = Aws(str(region))
            allowed = setting("allowedAccountIds") or []
            if allowed:
                account = self.aws.sts.get_caller_identity()["Account"]
                if account not in [str(a) for a in allowed]:
                    raise ProviderError(f"AWS Account ID not allowed: {account}")
            return provider_pb2.ConfigureResponse(acceptSecrets=False, supportsPreview=False, acceptResources=False)

        return self._call(context, configure)

    def Invoke(self, request, context):
        if request.tok != GET_CLUSTER:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"invoke {request.tok} is not served by the e2e aws provider")
        result = self._call(context, lambda: self._client().get_cluster(_props(request.args)))
        return provider_pb2.InvokeResponse(**{"return": _struct(result)})

    # --- resources -----------------------------------------------------------------------------------------------
    def Check(self, request, context):
        kind = request.type or request.urn.split("::")[2].split("$")[-1]
        if kind not in REPLACE_ON:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{kind} is not served by the e2e aws provider")
        news, olds = _props(request.news), _props(request.olds)
        inputs = {**DEFAULTS.get(kind, {}), **news}
        if kind in AUTONAMED and not inputs.get("name"):
            # autonaming as the real provider: keep the old name, else <resource name>-<7 random characters>
            name = olds.get("name") or (
                (inputs.get("namePrefix") or f"{request.urn.split('::')[-1]}-")
                + "".join(random.Random(request.randomSeed).choices(string.ascii_lowercase + string.digits, k=7))
            )
            inputs["name"] = name
        failures = []
        required = {
            ROLE: ["assumeRolePolicy"],
            ATTACHMENT: ["role", "policyArn"],
            GROUP_POLICY: ["group", "policy"],
            MEMBERSHIP: ["user", "groups"],
            ACCESS_ENTRY: ["clusterName", "principalArn"],
            ACCESS_POLICY: ["clusterName", "principalArn", "policyArn", "accessScope"],
        }.get(kind, [])
        for key in required:
            if key not in inputs:
                failures.append(provider_pb2.CheckFailure(property=key, reason=f"Missing required argument: {key}"))
        for key in JSON_PROPS & set(inputs):
            value = inputs[key]
            if isinstance(value, str) and value != UNKNOWN:
                try:
                    json.loads(value)
                except json.JSONDecodeError as error:
                    failures.append(provider_pb2.CheckFailure(property=key, reason=f"invalid JSON: {error}"))
        return provider_pb2.CheckResponse(inputs=_struct(inputs), failures=failures)

    def Diff(self, request, context):
        kind = request.type or request.urn.split("::")[2].split("$")[-1]
        olds = _props(request.old_inputs) if request.HasField("old_inputs") else _props(request.olds)
        news = _props(request.news)
        ignore = set(request.ignoreChanges)
        diffs, replaces, detailed = [], [], {}
        for key in sorted(set(olds) | set(news)):
            if key in ignore or key.startswith("__"):
                continue
            old, new = olds.get(key), news.get(key)
            if not _is_unknown(new) and _same(key, old, new):
                continue
            diffs.append(key)
            replace = key in REPLACE_ON.get(kind, set())
            if replace:
                replaces.append(key)
            if key not in olds:
                k = provider_pb2.PropertyDiff.ADD_REPLACE if replace else provider_pb2.PropertyDiff.ADD
            elif key not in news:
                k = provider_pb2.PropertyDiff.DELETE_REPLACE if replace else provider_pb2.PropertyDiff.DELETE
            else:
                k = provider_pb2.PropertyDiff.UPDATE_REPLACE if replace else provider_pb2.PropertyDiff.UPDATE
            detailed[key] = provider_pb2.PropertyDiff(kind=k, inputDiff=True)
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if diffs else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=diffs,
            replaces=replaces,
            detailedDiff=detailed,
            hasDetailedDiff=True,
        )

    def Create(self, request, context):
        kind = request.type or request.urn.split("::")[2].split("$")[-1]
        props = _props(request.properties)

        def create() -> tuple[str, dict[str, Any]]:
            aws = self._client()
            op = {
                ROLE: aws.role_create,
                ATTACHMENT: aws.attachment_create,
                GROUP: aws.group_create,
                USER: aws.user_create,
                GROUP_POLICY: aws.group_policy_create,
                MEMBERSHIP: aws.membership_create,
                ACCESS_ENTRY: aws.no_access_entries,
                ACCESS_POLICY: aws.no_access_entries,
            }[kind]
            return op(props)

        rid, state = self._call(context, create)
        return provider_pb2.CreateResponse(id=rid, properties=_struct(state))

    def Read(self, request, context):
        kind = request.type or request.urn.split("::")[2].split("$")[-1]
        props, inputs = _props(request.properties), _props(request.inputs)

        def read() -> provider_pb2.ReadResponse:
            aws = self._client()
            try:
                state = {
                    ROLE: lambda: aws.role_state(request.id, inputs or props),
                    GROUP: lambda: aws.group_state(request.id, inputs or props),
                    USER: lambda: aws.user_state(request.id, inputs or props),
                }.get(kind, lambda: props)()
            except ClientError as error:
                if error.response["Error"]["Code"] == "NoSuchEntity":
                    return provider_pb2.ReadResponse()  # gone
                raise
            return provider_pb2.ReadResponse(id=request.id, properties=_struct(state), inputs=_struct(inputs or props))

        return self._call(context, read)

    def Update(self, request, context):
        kind = request.type or request.urn.split("::")[2].split("$")[-1]
        olds = _props(request.old_inputs) if request.HasField("old_inputs") else _props(request.olds)
        news = _props(request.news)

        def update() -> dict[str, Any]:
            aws = self._client()
            if kind == ROLE:
                return aws.role_update(request.id, olds, news)
            if kind == GROUP:
                return aws.group_update(request.id, olds, news)[1]
            if kind == USER:
                return aws.user_update(request.id, olds, news)[1]
            if kind == GROUP_POLICY:
                return aws.group_policy_update(request.id, olds, news)
            if kind == MEMBERSHIP:
                return aws.membership_update(request.id, olds, news)
            if kind in (ACCESS_ENTRY, ACCESS_POLICY):
                return aws.no_access_entries()
            raise ProviderError(f"{kind} has no updatable properties; the engine should have replaced it")

        return provider_pb2.UpdateResponse(properties=_struct(self._call(context, update)))

    def Delete(self, request, context):
        kind = request.type or request.urn.split("::")[2].split("$")[-1]
        props = _props(request.properties)

        def delete() -> None:
            aws = self._client()
            {
                ROLE: aws.role_delete,
                ATTACHMENT: aws.attachment_delete,
                GROUP: aws.group_delete,
                USER: aws.user_delete,
                GROUP_POLICY: aws.group_policy_delete,
                MEMBERSHIP: aws.membership_delete,
                ACCESS_ENTRY: aws.no_access_entries,
                ACCESS_POLICY: aws.no_access_entries,
            }[kind](request.id, props)

        self._call(context, delete)
        return empty_pb2.Empty()

    def Cancel(self, request, context):
        return empty_pb2.Empty()


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Provider(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    # The engine stops plugins with SIGINT/SIGTERM: stop quietly, as the real plugins do; and stop when the engine
    # is gone without saying so (killed), as the real plugins' health check of the engine does.
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    parent = os.getppid()

    def watch_engine() -> None:
        while os.getppid() == parent:
            time.sleep(2)
        server.stop(0)

    threading.Thread(target=watch_engine, daemon=True).start()
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(0)


if __name__ == "__main__":
    main()
