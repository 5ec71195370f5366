"""Stack settings (the selectors in ``Pulumi.<stack>.yaml``), validated without Pulumi.

Data about people never lives here: only which environment this stack is, how to reach its cluster,
the cluster's authentication mode, and where the config directory is.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from access.core import names
from access.core.config.nodes import describe
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
    "identityRoleArn",
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
    # With a central identity account: the role in it that the second AWS provider assumes to write the team
    # groups' policies (and, in the people's home environment, the groups and memberships).
    identity_role_arn: str | None = None
    region: str | None = None
    # aws:allowedAccountIds: the AWS provider refuses credentials of any other account; must be the environment's.
    allowed_account_ids: tuple[str, ...] = ()


REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+\Z", re.ASCII)
# org/project/stack, org/stack or stack; each part as Pulumi allows stack names (letters, digits, - _ .)
STACK_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}\Z", re.ASCII)
Reader = Callable[[Any, Callable[[str], ConfigError]], Any]


def parse(stack: str, config: Mapping[str, Any]) -> StackSettings:
    """``config`` maps full keys (``access:environment``, ``aws:region``) to values."""
    err = _errors(stack)
    for key in config:
        namespace, _, name = key.partition(":")
        if namespace == "access" and name not in KEYS:
            raise err(key)(f"unknown key; expected one of: {', '.join('access:' + k for k in sorted(KEYS))}")
    values = {key: _READERS[key](config[key], err(key)) for key in _READERS if key in config}
    if "access:environment" not in values:
        raise err("access:environment")("required: the environment id this stack applies (e.g. dev)")
    source = values.get("access:clusterSource", "existing")
    cluster_stack = values.get("access:clusterStack")
    if source == "stack" and cluster_stack is None:
        raise err("access:clusterStack")("required with clusterSource stack: e.g. acme/eks-clusters/dev")
    if source != "stack" and cluster_stack is not None:
        raise err("access:clusterStack")(
            f"only read with access:clusterSource stack (this stack's source is {source}); remove it"
        )
    return StackSettings(
        stack=stack,
        environment=values["access:environment"],
        config_dir=values.get("access:configDir", "config"),
        auth_mode=values.get("access:authMode", AuthMode.CONFIG_MAP),
        cluster_source=source,
        cluster_stack=cluster_stack,
        aws_auth_exists=values.get("access:awsAuthExists", True),
        deploy_role_arn=values.get("access:deployRoleArn"),
        identity_role_arn=values.get("access:identityRoleArn"),
        allowed_account_ids=values.get("aws:allowedAccountIds", ()),
        region=values.get("aws:region"),
    )


def check_types(stack: str, config: Mapping[str, Any]) -> None:
    """Each value the stack file sets has the right type (the engine hands the program strings, which would hide a
    ``42`` where an id belongs); requiredness is left to :func:`parse`."""
    err = _errors(stack)
    for key, read in _READERS.items():
        if key in config:
            read(config[key], err(key))


def _errors(stack: str) -> Callable[[str], Callable[[str], ConfigError]]:
    """``err(key)(message)``: the error for one key of the stack file."""
    label = f"Pulumi.{stack}.yaml"
    return lambda key: lambda message: ConfigError(label, f"config.{key}", message)


def _string(value: Any, err: Callable[[str], ConfigError], what: str) -> str:
    if not isinstance(value, str):
        raise err(f"must be a string ({what}), found {describe(value)}")
    if not value:
        raise err(f"must be a non-empty string ({what})")
    if not value.isprintable() or value != value.strip():
        raise err(f"{value!r} holds a line break, a control character or surrounding spaces; write {what} alone")
    return value


def _environment(value: Any, err: Callable[[str], ConfigError]) -> str:
    return _string(value, err, "the environment id this stack applies, e.g. dev").lower()


def _config_dir(value: Any, err: Callable[[str], ConfigError]) -> str:
    return _string(value, err, "the config directory, relative to the project")


def _auth_mode(value: Any, err: Callable[[str], ConfigError]) -> AuthMode:
    choices = ", ".join(m.value for m in AuthMode)
    raw = _string(value, err, f"one of {choices}")
    try:
        return AuthMode(raw.lower())
    except ValueError:
        raise err(f"{raw!r} is not one of {choices}") from None


def _cluster_source(value: Any, err: Callable[[str], ConfigError]) -> str:
    raw = _string(value, err, f"one of {', '.join(CLUSTER_SOURCES)}")
    if raw not in CLUSTER_SOURCES:
        raise err(f"{raw!r} is not one of {', '.join(CLUSTER_SOURCES)}")
    return raw


def _cluster_stack(value: Any, err: Callable[[str], ConfigError]) -> str:
    raw = _string(value, err, "the cluster stack's name, e.g. acme/eks-clusters/dev")
    if not STACK_NAME_RE.match(raw):
        raise err(f"{raw!r} is not a stack name like acme/eks-clusters/dev (letters, digits, - _ . between slashes)")
    return raw


def _aws_auth_exists(value: Any, err: Callable[[str], ConfigError]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise err(f"{value!r} must be true or false")


def _identity_role(value: Any, err: Callable[[str], ConfigError]) -> str:
    return _role_arn(value, err, "the role ARN in the identity account the identity provider assumes")


def _deploy_role(value: Any, err: Callable[[str], ConfigError]) -> str:
    return _role_arn(value, err, "the role ARN the Kubernetes provider assumes")


def _role_arn(value: Any, err: Callable[[str], ConfigError], what: str) -> str:
    arn = _string(value, err, what)
    parsed = names.parse_arn(arn)
    problem = parsed if isinstance(parsed, str) else names.arn_name_problem(arn, parsed)
    if problem is None and isinstance(parsed, names.Arn) and (parsed.resource_type, parsed.service) != ("role", "iam"):
        problem = f"{arn!r} is not a role ARN"
    if problem:
        raise err(problem)
    return arn


def _region(value: Any, err: Callable[[str], ConfigError]) -> str:
    region = _string(value, err, "an AWS region, e.g. eu-west-1")
    if not REGION_RE.match(region):
        raise err(f"{region!r} is not an AWS region like eu-west-1")
    return region


def _allowed_accounts(value: Any, err: Callable[[str], ConfigError]) -> tuple[str, ...]:
    allowed = value
    if isinstance(allowed, str):  # as Pulumi's config hands structured values to the program: JSON text
        try:
            allowed = json.loads(allowed)
        except (json.JSONDecodeError, RecursionError):
            allowed = None
    if not isinstance(allowed, list) or not all(isinstance(a, (str, int)) and not isinstance(a, bool) for a in allowed):
        raise err('must be a list of account ids, e.g. ["111122223333"]')
    ids = tuple(str(a) for a in allowed)
    for account in ids:
        if not names.ACCOUNT_ID_RE.match(account):
            raise err(f'{account!r} is not a 12-digit account id; quote it, e.g. ["011122223333"]')
    return ids


_READERS: dict[str, Reader] = {
    "access:environment": _environment,
    "access:configDir": _config_dir,
    "access:authMode": _auth_mode,
    "access:clusterSource": _cluster_source,
    "access:clusterStack": _cluster_stack,
    "access:awsAuthExists": _aws_auth_exists,
    "access:deployRoleArn": _deploy_role,
    "access:identityRoleArn": _identity_role,
    "aws:region": _region,
    "aws:allowedAccountIds": _allowed_accounts,
}


def read_stack_file(project_dir: Path, stack: str) -> dict[str, Any]:
    """The ``config:`` block of ``Pulumi.<stack>.yaml`` (plain values; secrets are not used by eks-access)."""
    label = f"Pulumi.{stack}.yaml"
    path = project_dir / label
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", stack, re.ASCII) or stack.startswith("."):
        raise ConfigError(label, "", "a stack name has only letters, digits, '-', '_' and '.'")
    if not os.path.lexists(path):  # a dangling symlink is a broken stack file, reported by load_mapping
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


def check_account(
    settings: StackSettings, account_id: str, account: str, environments_file: str = "config/environments.yaml"
) -> None:
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
            f'{settings.environment!r} in {environments_file}; set it to ["{account_id}"]',
        )


def check_identity_role(
    settings: StackSettings,
    account: str,
    account_id: str,
    why: str,
    environments_file: str = "config/environments.yaml",
) -> None:
    """``access:identityRoleArn`` is set exactly when the stack reaches another account (``account_id``, "" for
    none): the identity account the people live in, or the Identity Center administrator account; and names a role
    there. The stack's own credentials are the workload account's (``aws:allowedAccountIds``); that account's
    resources are written through a second provider that assumes this role."""
    key = "config.access:identityRoleArn"
    label = f"Pulumi.{settings.stack}.yaml"
    if not account_id:
        if settings.identity_role_arn is not None:
            raise ConfigError(
                label,
                key,
                f"environment {settings.environment!r} keeps its people in its own account and has no Identity "
                "Center permission sets administered elsewhere: there is no identity account to reach; remove the key",
            )
        return
    if settings.identity_role_arn is None:
        raise ConfigError(
            label,
            key,
            f"required: {why} account {account!r} ({account_id}, in {environments_file}); set it to the role this "
            f"stack assumes there, e.g. arn:aws:iam::{account_id}:role/eks-access-identity",
        )
    parsed = names.parse_arn(settings.identity_role_arn)
    if isinstance(parsed, names.Arn) and parsed.account != account_id:
        raise ConfigError(
            label,
            key,
            f"{settings.identity_role_arn!r} is in account {parsed.account}, not account {account!r} ({account_id}); "
            "name a role there",
        )
