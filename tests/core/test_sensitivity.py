"""The one classification of sensitive access, and where it is used (loader, monitoring, guardrails)."""

from __future__ import annotations

import pytest

from access.core.model import PolicyRule
from access.core.sensitivity import Sensitivity, mapping_sensitivity, opt_in_reasons, rule_sensitivity
from access.errors import ConfigError
from tests.helpers import ConfigTree, level, put, rule


@pytest.mark.parametrize(
    ("rules", "cluster_wide", "expected"),
    [
        ((PolicyRule(("",), ("pods", "pods/log"), ("get", "list", "watch")),), False, set()),
        ((PolicyRule(("",), ("pods/exec",), ("get",)),), False, {Sensitivity.EXEC}),
        ((PolicyRule(("",), ("*/attach",), ("get",)),), False, {Sensitivity.EXEC}),
        (
            (PolicyRule(("*",), ("*",), ("get",)),),
            False,
            {Sensitivity.EXEC, Sensitivity.SECRETS, Sensitivity.ESCALATION},
        ),
        ((PolicyRule(("*",), ("*",), ("*",)),), True, set(Sensitivity) - {Sensitivity.SYSTEM}),
        ((PolicyRule(("apps",), ("deployments",), ("create", "update")),), False, {Sensitivity.WORKLOAD_SECRETS}),
    ],
)
def test_rule_sensitivity(rules: tuple[PolicyRule, ...], cluster_wide: bool, expected: set[Sensitivity]) -> None:
    assert {s for r in rules for s in rule_sensitivity(r, cluster_wide)} == expected


def test_reasons_name_what_matched_with_the_rules_own_words() -> None:
    assert opt_in_reasons(PolicyRule(("",), ("pods/exec", "pods"), ("get", "create"))) == [
        "a shell in pods ('pods/exec')"
    ]
    assert opt_in_reasons(PolicyRule(("*",), ("*",), ("*",))) == [
        "a shell in pods ('*')",
        "reading secrets",
        "resource '*'",
        "verb '*'",
    ]
    assert opt_in_reasons(PolicyRule(("apps",), ("deployments",), ("*",))) == []  # a deployer, not an escalation


def test_mapping_sensitivity() -> None:
    assert mapping_sensitivity(["system:masters"], "break-glass:{{SessionName}}") == {
        Sensitivity.SYSTEM,
        Sensitivity.CLUSTER_ADMIN,
    }
    assert mapping_sensitivity(["projecta:dev"], "projecta:dev:{{SessionName}}") == set()
    assert mapping_sensitivity([], "system:node:{{EC2PrivateDNSName}}") == {Sensitivity.SYSTEM}


def test_a_read_only_custom_level_with_get_on_pods_exec_needs_the_opt_in(tree: ConfigTree) -> None:
    put("access.yaml", ["levels"], {"peek": level(rule([""], ["pods", "pods/exec"], ["get"]))})(tree)
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        "config/access.yaml: levels.peek.rules[0]: grants a shell in pods ('pods/exec'), an escalation path; "
        "set allow_escalation: true on the level if that is really intended"
    )
    put("access.yaml", ["levels", "peek", "allow_escalation"], True)(tree)
    assert tree.load().levels["peek"].rules == (PolicyRule(("",), ("pods", "pods/exec"), ("get",)),)


@pytest.mark.parametrize("resource", ["pods/exec", "pods/attach", "pods/portforward", "secrets", "nodes/proxy", "*"])
def test_monitoring_reads_nothing_sensitive(tree: ConfigTree, resource: str) -> None:
    put("access.yaml", ["monitoring", "extra_rules"], [rule([""], [resource], ["get"])])(tree)
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        f"config/access.yaml: monitoring.extra_rules[0].resources[0]: monitoring may not have {resource!r}: bound "
        "cluster-wide, it would reveal secrets or reach a shell in every namespace"
    )
