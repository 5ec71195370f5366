"""Properties of the pure core over generated organisations (hypothesis).

* determinism: the same config gives byte-identical plan JSON, in this process and across processes with
  different hash seeds;
* reordering every mapping and list in the config gives the same plan JSON;
* monotonicity: removing a user, a membership or a grant never adds access to the effective-access matrix;
* every generated document stays within its limit when the preflight passes (trust policy, group inline policies,
  names), and every user within 10 groups;
* mapRoles always contains every node role of the cluster, also after merging with the live aws-auth.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from access.commands.plan.document import plan_document
from access.core import awsauth, iam, names
from access.core.config import load
from access.core.evaluate import effective_access, permission_set
from access.core.loading import LoadedStack
from access.core.model import GROUP_INLINE_POLICY_CHARS, GROUPS_PER_USER, AuthMode, Organisation
from access.core.plan.environment import plan_environment
from access.core.plan.groups import build_group_policies
from access.core.plan.roles import build_roles
from access.core.plan.types import EnvironmentPlan
from access.core.quotas import preflight
from access.core.stack_settings import StackSettings
from access.errors import ConfigError
from tests.helpers import REPO
from tests.org_strategies import Config, config_dir, organisations, shuffled

EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AUTH_MODES = st.sampled_from(list(AuthMode))


def load_data(data: Config) -> Organisation:
    with config_dir(data) as directory:
        return load(directory, label="config")


def auth_mode_for(org: Organisation, env: str, requested: AuthMode) -> AuthMode:
    """Environments sharing a cluster must use api; otherwise the requested mode."""
    cluster = org.environments[env].cluster
    shared = sum(1 for e in org.environments.values() if e.cluster == cluster) > 1
    return AuthMode.API if shared else requested


def plan_json(org: Organisation, mode: AuthMode) -> str:
    """Every environment's plan document, serialised without sorting keys: key order must be stable too."""
    documents = {}
    for env in sorted(org.environments):
        stack_mode = auth_mode_for(org, env, mode)
        plan = plan_environment(org, env, stack_mode)
        settings = StackSettings(stack=env, environment=env, auth_mode=stack_mode)
        documents[env] = plan_document(LoadedStack(settings, org, plan), {}, {})
    return json.dumps(documents)


def permissions(org: Organisation) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for env in org.environments:
        plan = plan_environment(org, env, auth_mode_for(org, env, AuthMode.API))
        out |= {(env, *p) for p in permission_set(effective_access(plan, org))}
    return out


# -- determinism ----------------------------------------------------------------------------------------------------


@EXAMPLES
@given(organisations(), AUTH_MODES)
def test_the_same_config_gives_byte_identical_plan_json(data: Config, mode: AuthMode) -> None:
    first = plan_json(load_data(data), mode)
    second = plan_json(load_data(copy.deepcopy(data)), mode)
    assert first == second


@EXAMPLES
@given(organisations(), AUTH_MODES, st.randoms(use_true_random=False))
def test_reordering_config_gives_the_same_plan(data: Config, mode: AuthMode, rng: random.Random) -> None:
    # Every mapping and list is shuffled (accounts shared by several environments name their home environment).
    reordered = {name: shuffled(content, rng, keep=frozenset(), path=(name,)) for name, content in data.items()}
    assert plan_json(load_data(reordered), mode) == plan_json(load_data(data), mode)


PRINT_PLAN = """
import sys
from access.core.config import load
from access.core.model import AuthMode
from tests.core.test_properties import plan_json
print(plan_json(load(sys.argv[1], label="config"), AuthMode(sys.argv[2])))
"""


def test_plan_json_is_the_same_under_different_hash_seeds() -> None:
    """Set iteration order depends on PYTHONHASHSEED; a plan that leaked it would differ between processes."""
    outputs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", PRINT_PLAN, str(REPO / "config"), "api_and_config_map"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert '"projecta-dev-humans"' in outputs[0]


# -- monotonicity ---------------------------------------------------------------------------------------------------


def _users(data: Config) -> list[str]:
    return sorted({u for t in data["teams.yaml"]["teams"].values() for u in t["members"]})


def _grants(data: Config) -> list[tuple[str, str, str]]:
    grants = data["access.yaml"]["grants"]
    return sorted((t, p, e) for t, projects in grants.items() for p, envs in projects.items() for e in envs)


def _assert_removal_adds_nothing(data: Config, smaller: Config) -> None:
    before = permissions(load_data(data))
    try:
        after_org = load_data(smaller)
        preflight(after_org)
        after = permissions(after_org)  # the plan may refuse too (e.g. the last admin removed)
    except ConfigError:
        return  # the removal made the config invalid: nothing is applied, so nothing is granted
    assert after <= before, sorted(after - before)[:5]


@EXAMPLES
@given(organisations(), st.data())
def test_removing_a_user_never_adds_access(data: Config, pick: st.DataObject) -> None:
    user = pick.draw(st.sampled_from(_users(data))) if _users(data) else None
    assume(user is not None)
    smaller = copy.deepcopy(data)
    for team in smaller["teams.yaml"]["teams"].values():
        team["members"] = [m for m in team["members"] if m != user]
    _assert_removal_adds_nothing(data, smaller)
    try:
        remaining = permissions(load_data(smaller))
    except ConfigError:
        return  # refused (the user was the last admin): nothing is applied
    assert not any(row[0] == user for row in remaining)


@EXAMPLES
@given(organisations(), st.data())
def test_removing_a_membership_never_adds_access(data: Config, pick: st.DataObject) -> None:
    memberships = sorted((t, u) for t, spec in data["teams.yaml"]["teams"].items() for u in spec["members"])
    assume(memberships)
    team, user = pick.draw(st.sampled_from(memberships))
    smaller = copy.deepcopy(data)
    smaller["teams.yaml"]["teams"][team]["members"].remove(user)
    _assert_removal_adds_nothing(data, smaller)


@EXAMPLES
@given(organisations(), st.data())
def test_removing_a_grant_never_adds_access(data: Config, pick: st.DataObject) -> None:
    assume(_grants(data))
    team, project, env = pick.draw(st.sampled_from(_grants(data)))
    smaller = copy.deepcopy(data)
    del smaller["access.yaml"]["grants"][team][project][env]
    _assert_removal_adds_nothing(data, smaller)


def test_monotonicity_checks_can_fail() -> None:
    """Adding a member does add access: the comparison above is not vacuous."""
    base = load(REPO / "config", label="config")
    data = {p.name: _read(p) for p in (REPO / "config").glob("*.yaml")}
    data["teams.yaml"]["teams"]["search"]["members"].append("alice")
    assert not permissions(load_data(data)) <= permissions(base)


def _read(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


# -- limits ---------------------------------------------------------------------------------------------------------


def assert_within_limits(org: Organisation) -> None:
    for account in org.accounts.values():
        envs = [e for e in sorted(org.environments) if org.environments[e].account == account.id]
        inline_total: dict[str, int] = {}
        for env in envs:
            roles = build_roles(org, env)
            for role in roles:
                assert iam.policy_size(role.trust_policy) <= account.quotas.role_trust_policy_chars, role.name
                assert names.iam_name_problem(role.name, names.ROLE_NAME_MAX, "role") is None, role.name
                assert len(role.path) <= 512
            for policy in build_group_policies(org, env, roles):
                inline_total[policy.group_name] = inline_total.get(policy.group_name, 0) + iam.policy_size(
                    policy.document
                )
                assert names.iam_name_problem(policy.group_name, names.GROUP_NAME_MAX, "group") is None
            plan = plan_environment(org, env, auth_mode_for(org, env, AuthMode.API))
            for namespace in plan.namespaces.values():
                assert names.namespace_problem(namespace) is None, namespace
            for membership in plan.memberships:
                assert len(membership.groups) <= GROUPS_PER_USER, membership.user
        assert all(total <= GROUP_INLINE_POLICY_CHARS for total in inline_total.values()), inline_total
        assert sum(len(build_roles(org, e)) for e in envs) <= account.quotas.roles_per_account


@EXAMPLES
@given(organisations())
def test_every_document_is_within_its_limit(data: Config) -> None:
    org = load_data(data)
    preflight(org)
    assert_within_limits(org)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(organisations(min_projects=30, max_projects=60, long_ids=True))
def test_when_preflight_passes_near_the_limits_every_document_fits(data: Config) -> None:
    """Long ids and many projects push role names and group policies to their limits: whatever the loader and
    the preflight let through must fit."""
    try:
        org = load_data(data)
        preflight(org)
    except ConfigError:
        return
    assert_within_limits(org)


# -- mapRoles -------------------------------------------------------------------------------------------------------


def _node_keys(org: Organisation, plan: EnvironmentPlan) -> set[str]:
    return {awsauth.authenticator_key(n.arn) for n in org.clusters[plan.cluster].node_roles}


@EXAMPLES
@given(organisations(), st.sampled_from([AuthMode.CONFIG_MAP, AuthMode.API_AND_CONFIG_MAP]))
def test_map_roles_always_contains_every_node_role(data: Config, mode: AuthMode) -> None:
    org = load_data(data)
    for env in org.environments:
        stack_mode = auth_mode_for(org, env, mode)
        if not stack_mode.writes_config_map:
            continue
        plan = plan_environment(org, env, stack_mode)
        rendered = {awsauth.authenticator_key(e.arn) for e in awsauth.parse(awsauth.render(plan.map_roles))}
        assert _node_keys(org, plan) <= rendered
        # EKS wrote the node roles into the live map itself; merging keeps them.
        nodes = [e for e in plan.map_roles if e.source == "node"]
        live = {"mapRoles": awsauth.render(nodes)}
        merged = awsauth.merge(plan.map_roles, plan.map_users, live, {}, f"eks-access/{env}", plan.keep_map_roles)
        merged_keys = {awsauth.authenticator_key(e.arn) for e in awsauth.parse(merged.map_roles)}
        assert _node_keys(org, plan) <= merged_keys
