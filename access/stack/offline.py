"""Run the real program in-process under Pulumi's mock runtime: no CLI, no plugins, no credentials.

Used by ``python -m access plan`` and by the tests. The mocks answer like AWS and the cluster would
(computed ARNs, an EKS cluster description, the live aws-auth), and record every resource.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks

from access.core import awsauth, loading
from access.core import stack_settings as stack_config
from access.core.config import load as load_config
from access.core.loading import LoadedStack
from access.core.model import Organisation
from access.core.plan.auth import node_map_entry
from access.core.plan.roles import build_roles
from access.errors import ConfigError
from access.stack import collector, pulumi_internals

FAKE_ENDPOINT = "https://0123456789ABCDEF0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
FAKE_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCm9mZmxpbmUtcGxhbgotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    provider: str | None
    read: bool  # a `.get()` of an existing resource, not something the stack creates
    # The state the mocks answer (inputs and computed outputs such as an ARN): what the engine's stack policies see.
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Fixtures:
    """What the cloud would answer. ``live_aws_auth`` is the ConfigMap's data and annotations (and managedFields,
    when a test needs them), or None for a cluster where the read should find the node roles EKS itself added."""

    live_aws_auth: dict[str, Any] | None = None
    stack_outputs: dict[str, Any] = field(
        default_factory=lambda: {"endpoint": FAKE_ENDPOINT, "certificateAuthorityData": FAKE_CA}
    )


class AccessMocks(pulumi_mocks.Mocks):
    def __init__(
        self,
        fixtures: Fixtures,
        default_live: Callable[[], dict[str, Any]] | None = None,
        role_accounts: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.fixtures = fixtures
        self.default_live = default_live
        # Role name -> the account its stack creates it in (the trust policy may name another: the identity account).
        self.role_accounts = role_accounts
        self._role_accounts: dict[str, str] | None = None
        self.resources: list[Registered] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        registered = Registered(
            args.typ,
            args.name,
            dict(args.inputs),
            args.provider,
            read=bool(args.resource_id) and args.typ.startswith("kubernetes:"),
        )
        self.resources.append(registered)
        resource_id, state = self._answer(args)
        registered.outputs = dict(state)
        return resource_id, state

    def _answer(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            return f"{args.name}-id", {
                "name": args.inputs.get("name"),
                "outputs": self.fixtures.stack_outputs,
                "secretOutputNames": [],
            }
        if args.typ == "kubernetes:core/v1:ConfigMap" and args.resource_id:
            live = self.fixtures.live_aws_auth
            if live is None and self.default_live is not None:
                live = self.default_live()
            live = live or {}
            return args.resource_id, {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "data": live.get("data", {}),
                "metadata": {
                    "name": "aws-auth",
                    "namespace": "kube-system",
                    "annotations": live.get("annotations", {}),
                    **({"managedFields": live["managedFields"]} if "managedFields" in live else {}),
                },
            }
        if args.typ == "aws:iam/role:Role":
            if self._role_accounts is None:
                self._role_accounts = self.role_accounts() if self.role_accounts is not None else {}
            account = self._role_accounts.get(state["name"]) or _account_of(state.get("assumeRolePolicy", ""))
            state["arn"] = f"arn:aws:iam::{account}:role{state.get('path', '/')}{state['name']}"
            # Stable across processes (hash() is salted): role ids appear in outputs that tests compare.
            digest = hashlib.sha256(state["name"].encode()).hexdigest().upper()
            state["uniqueId"] = "AROA" + digest[:17]
        elif args.typ == "aws:iam/group:Group":
            state["arn"] = f"arn:aws:iam::000000000000:group{state.get('path', '/')}{state['name']}"
        elif args.typ == "aws:ssoadmin/permissionSet:PermissionSet":
            # As Identity Center makes it: the instance's id and ps- with 16 hex digits (stable per resource name).
            instance = str(state.get("instanceArn", "")).rsplit("/", 1)[-1] or "ssoins-0000000000000000"
            digest = hashlib.sha256(args.name.encode()).hexdigest()[:16]
            state["arn"] = f"arn:aws:sso:::permissionSet/{instance}/ps-{digest}"
        elif args.typ == "aws:iam/user:User":
            state["arn"] = f"arn:aws:iam::000000000000:user/{state['name']}"
        elif args.typ == "eks:index:Cluster":
            state["kubeconfig"] = {
                "clusters": [{"cluster": {"server": FAKE_ENDPOINT, "certificate-authority-data": FAKE_CA}}]
            }
            state["kubeconfigJson"] = "{}"
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == "aws:eks/getCluster:getCluster":
            return {
                "name": args.args.get("name"),
                "endpoint": FAKE_ENDPOINT,
                "certificateAuthorities": [{"data": FAKE_CA}],
                "accessConfigs": [],
            }, []
        if args.token == "aws:identitystore/getGroup:getGroup":
            # The group's id in the identity store, as AWS would answer it (a stable fake per display name).
            wanted = (args.args.get("alternateIdentifier") or {}).get("uniqueAttribute") or {}
            digest = hashlib.sha256(str(wanted.get("attributeValue", "")).encode()).hexdigest()
            group_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
            return {
                "groupId": group_id,
                "id": group_id,
                "displayName": wanted.get("attributeValue", ""),
                "identityStoreId": args.args.get("identityStoreId", ""),
            }, []
        return {}, []


def _account_of(trust_policy: str) -> str:
    import re

    match = re.search(r"arn:aws:iam::(\d{12}):", trust_policy)
    return match.group(1) if match else "000000000000"


@dataclass
class OfflineRun:
    outputs: dict[str, Any]
    resources: list[Registered]
    calls: list[tuple[str, dict[str, Any]]]

    def created(self) -> list[Registered]:
        return [r for r in self.resources if not r.read]

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.created() if r.type == typ]


def run_program(
    project_dir: Path,
    stack: str,
    fixtures: Fixtures | None = None,
    config_overrides: Mapping[str, Any] | None = None,
    program: Callable[[], dict[str, Any]] | None = None,
    loaded: LoadedStack | None = None,
) -> OfflineRun:
    """Run the program of ``project_dir`` for ``stack`` under mocks and return what it declared.

    ``loaded`` is the stack as a command already validated it: the program then uses it instead of reading config
    again. Raises ConfigError for bad config (before any resource is declared) and pulumi.RunError for refusals
    found while resolving values (e.g. an unknown live aws-auth entry).
    """
    config = stack_config.read_stack_file(project_dir, stack)
    config.update(config_overrides or {})
    config.setdefault("access:configDir", "config")
    fixtures = fixtures or Fixtures()

    # The stack the program loaded (or was given): what the mock cluster's EKS-written aws-auth is made of, so the
    # config is read once per run.
    stack_loaded: list[LoadedStack] = [loaded] if loaded is not None else []

    def eks_live_aws_auth() -> dict[str, Any]:
        if stack_loaded:
            return _eks_live_aws_auth(stack_loaded[0].org, stack_loaded[0].settings.environment)
        settings = stack_config.parse(stack, config)  # a program of a test's own, which loaded nothing
        return _eks_live_aws_auth(loading.load_organisation(settings, Path(".")), settings.environment)

    absolute_dir = project_dir.resolve()  # the program runs from the project directory

    def role_accounts() -> dict[str, str]:
        if stack_loaded:
            org, environment = stack_loaded[0].org, stack_loaded[0].settings.environment
        else:  # a program of a test's own, which loaded nothing
            try:
                settings = stack_config.parse(stack, config)
                directory, label = loading.config_location(settings, absolute_dir)
                org, environment = load_config(directory, label=label), settings.environment
            except ConfigError:  # the program reports bad config itself, with its own line
                return {}
        if environment not in org.environments:
            return {}
        return {role.name: role.arn.split(":")[4] for role in build_roles(org, environment)}

    mocks = AccessMocks(fixtures, default_live=eks_live_aws_auth, role_accounts=role_accounts)
    pulumi_internals.reset_runtime(project="eks-access", stack=stack)
    pulumi.runtime.set_mocks(mocks, project="eks-access", stack=stack, preview=True)
    pulumi.runtime.set_all_config({k: _config_string(v) for k, v in config.items()})
    if program is None:
        from access.stack import program as stack_program

        def default_program() -> dict[str, Any]:
            if not stack_loaded:
                stack_loaded.append(stack_program.load())
            return stack_program.main(stack_loaded[0])

        program = default_program
    declare = program
    result: dict[str, Any] = {}

    def body() -> None:
        outputs = declare()
        result["outputs"] = pulumi_internals.sync_await(_resolved(outputs))

    pulumi_internals.clear_pending()
    cwd = os.getcwd()
    # Like the Pulumi CLI, run the program from its project directory: a relative configDir resolves there
    # and errors name files as the stack file wrote them (config/teams.yaml).
    os.chdir(project_dir)
    try:
        # No cyclic collection while thousands of resources register (access/stack/collector.py).
        with collector.paused():
            pulumi_internals.run_program(body)
    finally:
        os.chdir(cwd)
    return OfflineRun(outputs=result.get("outputs", {}), resources=mocks.resources, calls=mocks.calls)


async def _resolved(value: Any) -> Any:
    """The plain value of a nested structure holding Outputs, awaited in place (unknown values become None).

    ``Output.from_input`` would wrap every leaf and every dict in Outputs of its own: tens of thousands for a
    stack with a thousand roles, a cost the engine's own serialisation of stack outputs does not have.
    """
    if isinstance(value, pulumi.Output):
        return await _resolved(await value.future())
    if isinstance(value, dict):
        return {key: await _resolved(item) for key, item in value.items()}
    if isinstance(value, list):
        return [await _resolved(item) for item in value]
    if isinstance(value, tuple):
        return tuple([await _resolved(item) for item in value])
    return value


def _config_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value)
    return str(value)


def _eks_live_aws_auth(org: Organisation, environment: str) -> dict[str, Any]:
    """The aws-auth EKS itself keeps for a cluster: its node roles, nothing written by eks-access yet."""
    env = org.environments.get(environment)
    if env is None:
        return {}
    nodes = [node_map_entry(n) for n in org.clusters[env.cluster].node_roles]
    return {"data": {"mapRoles": awsauth.render(nodes)}, "annotations": {}}


def close_runtime() -> None:
    """Shut down the event loop the mock runtime used (its executor threads included).

    For one-shot processes only (``python -m access``; later runs in the process would find the loop closed).
    Left to the interpreter's exit, the loop is sometimes collected after its selector's file descriptor is gone,
    which prints a spurious "Invalid file descriptor" warning.
    """
    import asyncio
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
    if loop.is_running() or loop.is_closed():
        return
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
