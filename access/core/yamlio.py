"""Strict YAML reading: duplicate keys, empty files and non-mapping documents are config errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from access.errors import ConfigError

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    own_keys = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
    loader.flatten_mapping(node)
    # flatten_mapping puts keys merged in with ``<<: *anchor`` first; the mapping's own keys may override those.
    merged = len(node.value) - own_keys
    mapping: dict[Any, Any] = {}
    own_seen: set[Any] = set()
    for position, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping key must be a string, found {type(key).__name__}", key_node.start_mark
            )
        if position >= merged:
            if key in own_seen:
                raise _DuplicateKey(str(key), key_node.start_mark)
            own_seen.add(key)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


class _DuplicateKey(Exception):
    def __init__(self, key: str, mark: yaml.Mark) -> None:
        self.key = key
        self.mark = mark


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_mapping(path: Path, label: str) -> dict[str, Any]:
    """Read one YAML file that must hold a mapping; ``label`` is how errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(label, "", "file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(label, "", "file is not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except _DuplicateKey as dup:
        key_path, first = _locate_duplicate(text, dup.mark)
        raise ConfigError(
            label,
            key_path or dup.key,
            f"key {dup.key!r} appears twice (lines {first} and {dup.mark.line + 1}); each key may appear once",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        if context and problem.startswith("but "):  # "expected a single document ..., but found another document"
            problem = f"{context}, {problem}"
        raise ConfigError(label, "", f"invalid YAML at {where}: {problem}") from None
    if data is None:
        raise ConfigError(label, "", "file is empty; it must hold a mapping (see docs/config.md)")
    if not isinstance(data, dict):
        raise ConfigError(label, "", f"top level must be a mapping, found {_kind(data)}")
    return data


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def _locate_duplicate(text: str, mark: yaml.Mark) -> tuple[str | None, int]:
    """The key path of the repeated key at ``mark`` and the line of its first occurrence."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    seen: set[int] = set()
    stack: list[tuple[yaml.Node | None, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if node is None or id(node) in seen:  # aliases share nodes
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key_path = f"{path}.{key_node.value}" if path else str(key_node.value)
                if key_node.start_mark.index == mark.index:
                    first = next(k for k, _ in node.value if k.value == key_node.value and k.tag == key_node.tag)
                    return key_path, int(first.start_mark.line) + 1
                stack.append((value_node, key_path))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))
    return None, int(mark.line) + 1
