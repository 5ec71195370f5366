"""Strict YAML reading: duplicate keys, empty files and non-mapping documents are config errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from access.errors import ConfigError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping key must be a string, found {type(key).__name__}", key_node.start_mark
            )
        if key in mapping:
            raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        self.key = key
        self.line = line


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
        raise ConfigError(label, dup.key, f"duplicate key on line {dup.line}; each key may appear once") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
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
