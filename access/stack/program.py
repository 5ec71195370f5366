"""The Pulumi program: read the stack's selectors, plan the environment, declare its resources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from access.core import awsauth, loading
from access.core.loading import LoadedStack
from access.core.outputs import stack_outputs
from access.stack import collector, pulumi_internals
from access.stack.cluster import connect
from access.stack.cluster_access import ClusterAccess
from access.stack.iam_component import EnvironmentIam, identity_provider
from access.stack.settings import read_settings


def main(loaded: LoadedStack | None = None) -> dict[str, Any]:
    """Declare the stack's resources; returns the stack outputs (``__main__`` exports them).

    ``loaded`` is the stack a command has already validated and planned (``python -m access plan`` runs this
    program under mocks), so config is read once per command; under ``pulumi`` it is None and read here.

    The cyclic garbage collector is paused while the program declares; under the real engine what it declared is
    then frozen out of the collector's sight for the registrations the SDK finishes after this returns
    (access/stack/collector.py). The offline runner pauses it for its whole run itself.
    """
    with collector.paused():
        outputs = _declare(loaded)
        if not pulumi_internals.under_mocks():
            collector.freeze_declared()
    return outputs


def load() -> LoadedStack:
    """The stack as the engine configures it: selectors, config, preflight, plan, verification (once)."""
    settings = read_settings()
    return loading.plan_stack(settings, loading.load_organisation(settings, Path(".")))


def _declare(loaded: LoadedStack | None) -> dict[str, Any]:
    if loaded is None:
        loaded = load()
    settings, plan = loaded.settings, loaded.plan
    environment_iam = EnvironmentIam(plan.environment, plan, people_provider=identity_provider(plan, settings))
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
