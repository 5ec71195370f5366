"""Fuzzing the loader (hypothesis): random config trees, valid and broken.

Broken trees are valid ones with random mutations: values of the wrong type, keys removed or added, ids renamed to
bad names or to names colliding ignoring case, list items duplicated, and text-level damage (a repeated key, an
empty file, a top level that is not a mapping, invalid UTF-8, cut-off YAML). For every tree, ``load`` +
``preflight`` + ``plan_environment`` (each environment, each auth mode) either succeed or raise ConfigError, never
another exception; and whatever loads renders: mapRoles/mapUsers, manifests, plan JSON, effective access, outputs.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.commands.plan.document import plan_document
from access.core import awsauth
from access.core.config import FILES, load
from access.core.evaluate import effective_access
from access.core.loading import LoadedStack
from access.core.model import AuthMode, Organisation
from access.core.outputs import stack_outputs
from access.core.plan.environment import plan_environment
from access.core.quotas import preflight
from access.core.stack_settings import StackSettings
from access.errors import ConfigError
from tests.org_strategies import Config, config_dir, organisations

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BAD_NAMES = (
    "ProjectA",
    "with space",
    "a/b",
    "a:b",
    "café",
    "-leading",
    "trailing-",
    "kube-system",
    "default",
    "system:masters",
    "x" * 70,
    "",
    "a",
)
ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100000) | st.floats(allow_nan=False) | st.sampled_from(BAD_NAMES),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(BAD_NAMES), inner, max_size=3),
    max_leaves=6,
)

Path = tuple[Any, ...]


def _paths(data: Any, path: Path = ()) -> list[Path]:
    """Every position in the data: mapping keys and list items."""
    out = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*path, i))
    return out


def _parent(data: Any, path: Path) -> Any:
    for step in path[:-1]:
        data = data[step]
    return data


@st.composite
def mutated(draw: st.DrawFn, tree: Config) -> Config:
    """``tree`` with one random mutation somewhere in one file."""
    tree = copy.deepcopy(tree)
    name = draw(st.sampled_from(sorted(tree)))
    paths = [p for p in _paths(tree[name]) if p]
    kind = draw(st.sampled_from(["retype", "delete", "unknown-key", "rename", "duplicate", "case-twin", "drop-file"]))
    if kind == "drop-file" or not paths:
        del tree[name]
        return tree
    path = draw(st.sampled_from(paths))
    parent, last = _parent(tree[name], path), path[-1]
    if kind == "retype":
        parent[last] = draw(ANY_VALUE)
    elif kind == "delete":
        del parent[last]
    elif kind == "unknown-key":
        target = parent[last] if isinstance(parent[last], dict) else parent
        if isinstance(target, dict):
            target[draw(st.sampled_from(["colour", "memebrs", "Members", *BAD_NAMES]))] = draw(ANY_VALUE)
        else:
            target.append(draw(ANY_VALUE))
    elif kind == "rename" and isinstance(parent, dict):
        parent[draw(st.sampled_from(BAD_NAMES))] = parent.pop(last)
    elif kind == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif kind == "case-twin" and isinstance(parent, dict) and isinstance(last, str):
        parent[last.upper()] = copy.deepcopy(parent[last])
    else:
        parent[last] = draw(ANY_VALUE)
    return tree


@st.composite
def broken_trees(draw: st.DrawFn) -> Config:
    tree = draw(organisations())
    for _ in range(draw(st.integers(1, 3))):
        tree = draw(mutated(tree))
    return tree


TEXT_DAMAGE = st.sampled_from(
    ["repeat-key", "empty", "comments-only", "list", "scalar", "two-documents", "cut", "bytes"]
)


def damage(text: str, how: str, at: int) -> bytes:
    lines = text.splitlines(keepends=True)
    if how == "repeat-key" and lines:
        line = lines[at % len(lines)]
        return "".join([*lines[: at % len(lines) + 1], line, *lines[at % len(lines) + 1 :]]).encode()
    if how == "empty":
        return b""
    if how == "comments-only":
        return b"# nothing here\n"
    if how == "list":
        return b"- a\n- b\n"
    if how == "scalar":
        return b"just text\n"
    if how == "two-documents":
        return (text + "---\n" + text).encode()
    if how == "cut":
        return text[: at % (len(text) + 1)].encode()
    return b"\xff\xfe" + text.encode()


def render_everything(org: Organisation) -> None:
    """Everything the plan command and the program compute from a valid model."""
    preflight(org)
    for env in sorted(org.environments):
        for mode in AuthMode:
            try:
                plan = plan_environment(org, env, mode)
            except ConfigError:
                continue  # e.g. an auth mode that cannot work for this cluster: refused with a config error
            awsauth.render(plan.map_roles)
            awsauth.render(plan.map_users, awsauth.USER_ARN_KEY)
            json.dumps(plan.manifests)
            effective_access(plan, org)
            role_arns = {r.key: r.arn for r in plan.roles}
            json.dumps(stack_outputs(plan, role_arns, "https://endpoint", "Q0E=", "", "eu-west-1"))
            settings = StackSettings(stack=env, environment=env, auth_mode=mode)
            document = plan_document(LoadedStack(settings, org, plan), {}, {})
            json.dumps(document)


def load_and_render(tree: Config, raw: dict[str, bytes] | None = None) -> str:
    """'ok' or 'refused'; any exception other than ConfigError propagates and fails the test."""
    with config_dir(tree) as directory:
        for name, content in (raw or {}).items():
            (directory / name).write_bytes(content)
        try:
            org = load(directory, label="config")
            render_everything(org)
        except ConfigError as refused:
            assert "\n" not in str(refused), "errors are one line"
            assert str(refused).startswith("config/"), str(refused)
            return "refused"
    return "ok"


@FUZZ
@given(organisations())
def test_valid_trees_load_and_render(tree: Config) -> None:
    with config_dir(tree) as directory:
        org = load(directory, label="config")
    render_everything(org)


@FUZZ
@given(broken_trees())
def test_mutated_trees_load_or_raise_config_error(tree: Config) -> None:
    load_and_render(tree)


@FUZZ
@given(organisations(), st.sampled_from(sorted(FILES)), TEXT_DAMAGE, st.integers(0, 10_000))
def test_damaged_yaml_text_is_a_config_error(tree: Config, name: str, how: str, at: int) -> None:
    text = yaml.safe_dump(tree.get(name, {}), sort_keys=False)
    outcome = load_and_render(tree, {name: damage(text, how, at)})
    # A repeated line may be a list item (still valid) and a cut may end on a line boundary: either outcome is fine.
    if how not in ("repeat-key", "cut"):
        assert outcome == "refused"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("teams.yaml", b"", "config/teams.yaml: file is empty; it must hold a mapping (see docs/config.md)"),
        ("teams.yaml", b"- a\n", "config/teams.yaml: top level must be a mapping, found a list"),
        ("teams.yaml", b"\xff\xfe", "config/teams.yaml: file is not UTF-8 text"),
    ],
)
def test_damage_examples_give_the_documented_lines(name: str, content: bytes, message: str) -> None:
    tree = {"settings.yaml": {}, **_sample()}
    with config_dir(tree) as directory:
        (directory / name).write_bytes(content)
        with pytest.raises(ConfigError) as refused:
            load(directory, label="config")
    assert str(refused.value) == message


def _sample() -> Config:
    from tests.helpers import SAMPLE_CONFIG

    return {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in SAMPLE_CONFIG.glob("*.yaml")}
