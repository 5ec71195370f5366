"""eks-access guardrails as a Pulumi policy pack: ``pulumi preview --policy-pack policy``.

Thin adapters over the core:

- one resource policy per rule of :mod:`access.core.guardrails`, which holds the checks (unit-tested in
  tests/core/test_guardrails.py). The allowed admin group and break-glass roles come from the reviewed config
  (``../config``, or ``EKS_ACCESS_CONFIG_DIR``); if it cannot be read the pack allows the least (the default
  admin group, no break-glass role), so it fails closed;
- a stack policy, ``declared-access-is-effective-access``: the stack's documents read from the resources the engine
  is about to apply (:mod:`access.core.evaluate.applied`), evaluated with the rest of the cluster and verified
  against what config grants by :func:`access.core.evaluate.check_stack`, the check the program runs on its own
  rendering (tests/stack/test_policy_pack.py). Its advisory companion names the values unknown during a preview
  that were evaluated as config renders them.

What a policy pack cannot see: deletes and replacements (it is shown the desired state of each resource, not
the engine's steps) and the ``retainOnDelete`` option. ``python -m access preview-guard`` checks those on
``pulumi preview --json``; docs/pull-requests.md explains both.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import policy as policy_module
from pulumi_policy.proxy import UnknownValueError

from access.core import config, guardrails, loading
from access.core.evaluate import applied, check_stack
from access.core.loading import LoadedStack
from access.errors import ConfigError
from access.stack.settings import read_settings

REPO = Path(__file__).resolve().parents[1]  # the checkout whose config/ the pack reads by default

PACK_NAME = "eks-access-guardrails"


def receive_the_stack_from_the_engine() -> None:
    """Give the pack the stack's name and config the way today's engine sends them.

    The engine (pulumi pkg/v3 ``resource/plugin/analyzer_plugin.go``, ``NewPolicyAnalyzer``) sends the stack,
    project, dry-run flag and the stack's config in the ``ConfigureStack`` call, and no longer in
    ``PULUMI_STACK``/``PULUMI_CONFIG`` (its analyzer test asserts ``PULUMI_CONFIG`` is unset). pulumi-policy (1.21,
    1.22 alpha) keeps only the request's tags, so ``pulumi.get_stack()`` would say ``stack`` and every config key
    would be missing: found by the end-to-end suite's scenario 6. Configure the runtime from the request first;
    an engine that still sets the environment variables is served by pulumi-policy itself.
    """
    servicer = policy_module._PolicyAnalyzerServicer  # private: the one hook; tests/stack/test_policy_pack.py pins it
    original = servicer.ConfigureStack
    if getattr(original, "eks_access", False):
        return

    def configure_stack(self: Any, request: Any, context: Any) -> Any:
        if request.stack:
            pulumi.runtime.configure(
                pulumi.runtime.Settings(
                    project=request.project or "eks-access",
                    stack=request.stack,
                    dry_run=request.dry_run,
                    organization=request.organization or "organization",
                )
            )
            for key, value in request.config.items():
                pulumi.runtime.set_config(key, value)
        return original(self, request, context)

    configure_stack.eks_access = True  # type: ignore[attr-defined]
    setattr(servicer, "ConfigureStack", configure_stack)  # noqa: B010 - mypy refuses assigning a method


receive_the_stack_from_the_engine()
DECLARED_ACCESS = "declared-access-is-effective-access"
PREVIEW_SUBSTITUTIONS = "declared-access-unknown-at-preview"
STACK_POLICIES = {
    DECLARED_ACCESS: (
        EnforcementLevel.MANDATORY,
        "What this stack applies (IAM roles, group policies, memberships, aws-auth, access entries, RBAC), evaluated "
        "with the rest of its cluster as IAM, aws-iam-authenticator and Kubernetes RBAC evaluate it, gives every "
        "principal exactly what config grants; a resource the pack cannot evaluate is a violation.",
    ),
    PREVIEW_SUBSTITUTIONS: (
        EnforcementLevel.ADVISORY,
        "Values unknown during a preview (a group policy built from new role ARNs, aws-auth merged with the live "
        "map) were evaluated as config renders them; the applied values are checked after the update.",
    ),
}


def config_directory(config_dir: Path | None = None) -> Path:
    return config_dir or Path(os.environ.get("EKS_ACCESS_CONFIG_DIR", REPO / "config"))


def load_settings(config_dir: Path | None = None) -> guardrails.GuardrailSettings:
    directory = config_directory(config_dir)
    try:
        org = config.load(directory)
    except ConfigError as error:
        print(f"{PACK_NAME}: {error}; allowing only the default admin group and no break-glass role", file=sys.stderr)
        return guardrails.GuardrailSettings()
    return guardrails.settings_from_org(org)


def validator(
    rule: str, settings: guardrails.GuardrailSettings
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        # An unknown property raises pulumi-policy's UnknownValueError: reported as "can't run during preview".
        for message in guardrails.rule_findings(rule, args.resource_type, args.props, settings):
            report_violation(message, None)

    return validate


def policies(settings: guardrails.GuardrailSettings) -> list[Policy]:
    return [
        ResourceValidationPolicy(
            name=rule,
            description=description,
            validate=validator(rule, settings),
            enforcement_level=EnforcementLevel.MANDATORY,
        )
        for rule, (_, description) in guardrails.RULES.items()
    ]


def plain(value: Any) -> Any:
    """A property value out of pulumi-policy's proxies, with :data:`applied.UNKNOWN` where the engine does not know
    it (the proxies raise UnknownValueError on reading one)."""
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = applied.UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(applied.UNKNOWN)
        return items
    return value


def stack_resources(args: StackValidationArgs) -> list[applied.AppliedResource]:
    return [
        applied.AppliedResource(
            resource.resource_type,
            resource.urn,
            plain(resource.props),
            {key: tuple(d.urn for d in deps) for key, deps in resource.property_dependencies.items()},
        )
        for resource in args.resources
    ]


def read_applied(args: StackValidationArgs, config_dir: Path | None) -> tuple[applied.Reading, LoadedStack]:
    """The stack's settings from the engine, its config and plan exactly as the program loads them, and its part
    of the documents read from the resources. Raises ConfigError where the program would refuse."""
    settings = read_settings(None)  # the engine's config for this stack; no stack file in the pack's directory
    if settings.cluster_source == "create":
        args.not_applicable(
            "clusterSource create: pulumi-eks writes this sandbox cluster's aws-auth and access entries itself"
        )
    # As the program reads it: the stack's configDir in the project, unless the pack is told where config is.
    override = config_dir or (
        Path(os.environ["EKS_ACCESS_CONFIG_DIR"]) if "EKS_ACCESS_CONFIG_DIR" in os.environ else None
    )
    loaded = loading.plan_stack(settings, loading.load_organisation(settings, REPO, override=override))
    return applied.read_stack(loaded.plan, stack_resources(args)), loaded


def stack_validator(rule: str, config_dir: Path | None) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        try:
            reading, loaded = read_applied(args, config_dir)
            if rule == PREVIEW_SUBSTITUTIONS:
                for note in reading.substituted:
                    report_violation(note, None)
                return
            for problem in reading.problems:
                report_violation(problem, None)
            check_stack(loaded.org, loaded.plan, reading.part)
        except ConfigError as error:
            if rule == DECLARED_ACCESS:
                report_violation(str(error), None)

    return validate


def stack_policies(config_dir: Path | None = None) -> list[Policy]:
    return [
        StackValidationPolicy(
            name=rule,
            description=description,
            validate=stack_validator(rule, config_dir),
            enforcement_level=level,
        )
        for rule, (level, description) in STACK_POLICIES.items()
    ]


if __name__ == "__main__":
    PolicyPack(
        name=PACK_NAME,
        policies=policies(load_settings()) + stack_policies(),
        enforcement_level=EnforcementLevel.MANDATORY,
    )
