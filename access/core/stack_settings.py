"""Stack settings (the selectors in ``Pulumi.<stack>.yaml``), validated without Pulumi.

Data about people never lives here: only which environment this stack is, how to reach its cluster,
the cluster's authentication mode, and where the config directory is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from access.core.model import AuthMode
from access.core.yamlio import load_mapping
from access.errors import ConfigError

PROJECT = "eks-access"
KEYS = {
    "environment",
    "configDir",
    "authMode",
    "clusterSource",
    "clusterStack",
    "awsAuthExists",
    "deployRoleArn",
}
CLUSTER_SOURCES = ("existing", "stack", "create")


@dataclass(frozen=True)
class StackSettings:
    stack: str
    environment: str
    config_dir: str = "config"
    auth_mode: AuthMode = AuthMode.CONFIG_MAP
    cluster_source: str = "existing"  # existing | stack | create
    cluster_stack: str | None = None  # fully qualified name of the stack that owns the cluster
    aws_auth_exists: bool = True  # read the live aws-auth before writing (false only for a cluster without one)
    deploy_role_arn: str | None = None  # role the Kubernetes provider assumes for `aws eks get-token`
    region: str | None = None
    # aws:allowedAccountIds: the AWS provider refuses credentials of any other account; must be the environment's.
    allowed_account_ids: tuple[str, ...] = ()


def parse(stack: str, config: Mapping[str, Any]) -> StackSettings:
    """``config`` maps full keys (``access:environment``, ``aws:region``) to values."""
    label = f"Pulumi.{stack}.yaml"

    def err(key: str, message: str) -> ConfigError:
        return ConfigError(label, f"config.{key}", message)

    for key in config:
        namespace, _, name = key.partition(":")
        if namespace == "access" and name not in KEYS:
            raise err(key, f"unknown key; expected one of: {', '.join('access:' + k for k in sorted(KEYS))}")
    environment = config.get("access:environment")
    if not isinstance(environment, str) or not environment:
        raise err("access:environment", "required: the environment id this stack applies (e.g. dev)")
    mode_raw = str(config.get("access:authMode", "config_map")).lower()
    try:
        auth_mode = AuthMode(mode_raw)
    except ValueError:
        raise err("access:authMode", f"{mode_raw!r} is not one of config_map, api_and_config_map, api") from None
    source = str(config.get("access:clusterSource", "existing"))
    if source not in CLUSTER_SOURCES:
        raise err("access:clusterSource", f"{source!r} is not one of {', '.join(CLUSTER_SOURCES)}")
    cluster_stack = config.get("access:clusterStack")
    if source == "stack" and not cluster_stack:
        raise err("access:clusterStack", "required with clusterSource stack: e.g. acme/eks-clusters/dev")
    aws_auth_exists = _boolean(config.get("access:awsAuthExists", True), lambda m: err("access:awsAuthExists", m))
    allowed = config.get("aws:allowedAccountIds", [])
    if isinstance(allowed, str):  # as Pulumi's config hands structured values to the program: JSON text
        try:
            allowed = json.loads(allowed)
        except json.JSONDecodeError:
            allowed = None
    if not isinstance(allowed, list) or not all(isinstance(a, (str, int)) for a in allowed):
        raise err("aws:allowedAccountIds", 'must be a list of account ids, e.g. ["111122223333"]')
    deploy_role = config.get("access:deployRoleArn")
    if deploy_role is not None and (not isinstance(deploy_role, str) or ":role/" not in deploy_role):
        raise err("access:deployRoleArn", f"{deploy_role!r} is not a role ARN")
    return StackSettings(
        stack=stack,
        environment=environment.lower(),
        config_dir=str(config.get("access:configDir", "config")),
        auth_mode=auth_mode,
        cluster_source=source,
        cluster_stack=cluster_stack,
        aws_auth_exists=aws_auth_exists,
        deploy_role_arn=deploy_role,
        allowed_account_ids=tuple(str(a) for a in allowed),
        region=config.get("aws:region"),
    )


def _boolean(value: Any, error: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise error(f"{value!r} must be true or false")


def read_stack_file(project_dir: Path, stack: str) -> dict[str, Any]:
    """The ``config:`` block of ``Pulumi.<stack>.yaml`` (plain values; secrets are not used by eks-access)."""
    label = f"Pulumi.{stack}.yaml"
    path = project_dir / label
    if not path.exists():
        stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
        raise ConfigError(label, "", f"no such stack file; stacks here: {', '.join(stacks) or 'none'}")
    data = load_mapping(path, label)
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(label, "config", "must be a mapping of keys to values")
    out: dict[str, Any] = {}
    for key, value in config.items():
        # Pulumi's structured form {value: ...} holds the plain value under "value".
        out[str(key)] = value["value"] if isinstance(value, dict) and "value" in value else value
    return out


def check_account(settings: StackSettings, account_id: str, account: str) -> None:
    """The stack's aws:allowedAccountIds must be exactly the account config gives its environment.

    Every ARN eks-access writes (trust principals, mapRoles, group policies) is built from config's account id;
    with credentials of another account the roles would land there and nobody could log in. The AWS provider
    enforces aws:allowedAccountIds before any call, so this makes the wrong-credentials mistake impossible.
    """
    if settings.allowed_account_ids and list(settings.allowed_account_ids) != [account_id]:
        raise ConfigError(
            f"Pulumi.{settings.stack}.yaml",
            "config.aws:allowedAccountIds",
            f"{list(settings.allowed_account_ids)} does not match account {account!r} ({account_id}) of environment "
            f'{settings.environment!r} in config/environments.yaml; set it to ["{account_id}"]',
        )
