"""eks-access guardrails as a Pulumi policy pack: ``pulumi preview --policy-pack policy``.

Thin adapters: one resource policy per rule of :mod:`access.core.guardrails`, which holds the checks (unit-tested
in tests/core/test_guardrails.py). The allowed admin group and break-glass roles come from the reviewed config
(``../config``, or ``EKS_ACCESS_CONFIG_DIR``); if it cannot be read the pack allows the least (the default
admin group, no break-glass role), so it fails closed.

What a policy pack cannot see: deletes and replacements (it is shown the desired state of each resource, not
the engine's steps) and the ``retainOnDelete`` option. ``python -m access preview-guard`` checks those on
``pulumi preview --json``; docs/pull-requests.md explains both.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from access.core import config, guardrails
from access.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]  # the checkout whose config/ the pack reads by default

PACK_NAME = "eks-access-guardrails"


def load_settings(config_dir: Path | None = None) -> guardrails.GuardrailSettings:
    directory = config_dir or Path(os.environ.get("EKS_ACCESS_CONFIG_DIR", REPO / "config"))
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


if __name__ == "__main__":
    PolicyPack(name=PACK_NAME, policies=policies(load_settings()), enforcement_level=EnforcementLevel.MANDATORY)
