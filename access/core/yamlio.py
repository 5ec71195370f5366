"""Strict YAML reading: duplicate keys, empty files and non-mapping documents are config errors, and so is every way
a file can be broken (a directory, a dangling symlink, a loop, unreadable, nested too deep, a recursive alias)."""

from __future__ import annotations

import errno
import os
import stat
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


MAX_DEPTH = 64  # config is a few levels deep; anything deeper is a mistake (or an attack on the parser)


def load_mapping(path: Path, label: str) -> dict[str, Any]:
    """Read one YAML file that must hold a mapping; ``label`` is how errors name the file."""
    text = _read_text(path, label)
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
        recursive = _recursive_alias(text) if "recursive" in problem else None  # "found unconstructable recursive node"
        raise ConfigError(label, "", recursive or f"invalid YAML at {where}: {problem}") from None
    except RecursionError:  # the composer recurses once per level (and forever on a recursive merge key)
        raise ConfigError(label, "", _recursive_alias(text) or _too_deep(text)) from None
    if data is None:
        raise ConfigError(label, "", "file is empty; it must hold a mapping (see docs/config.md)")
    if not isinstance(data, dict):
        raise ConfigError(label, "", f"top level must be a mapping, found {_kind(data)}")
    shape = _shape_problem(data)
    if shape == "cycle":
        raise ConfigError(label, "", _recursive_alias(text) or RECURSIVE_ALIAS)
    if shape == "deep":
        raise ConfigError(label, "", _too_deep(text))
    return data


def _read_text(path: Path, label: str) -> str:
    """The file's text; every way of not being a readable regular UTF-8 file is one line naming the file."""
    try:
        mode = path.stat().st_mode  # follows symlinks
    except FileNotFoundError:
        if path.is_symlink():
            raise ConfigError(label, "", f"is a symlink to {os.readlink(path)!r}, which does not exist") from None
        raise ConfigError(label, "", "file not found") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(label, "", "is a symlink loop (it leads back to itself); point it at a file") from None
        raise ConfigError(label, "", f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise ConfigError(label, "", "is a directory, not a YAML file")
    if not stat.S_ISREG(mode):
        raise ConfigError(label, "", "is not a regular file (a pipe or a device?); config files are YAML files")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(label, "", "file is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(label, "", f"cannot be read: {exc.strerror or exc}") from None


def _shape_problem(data: Any) -> str | None:
    """``"cycle"`` when an alias makes a value contain itself, ``"deep"`` beyond MAX_DEPTH, else None.

    Iterative, and each shared value (an alias) is walked once, so neither depth nor alias fan-out can blow up here.
    """
    on_path: set[int] = {id(data)}
    seen: set[int] = {id(data)}
    stack: list[tuple[Any, int, Any]] = [(data, 1, iter(_children(data)))]
    while stack:
        value, depth, children = stack[-1]
        child = next(children, _END)
        if child is _END:
            stack.pop()
            on_path.discard(id(value))
            continue
        if not isinstance(child, (dict, list)):
            continue
        if id(child) in on_path:
            return "cycle"
        if id(child) in seen:
            continue
        if depth >= MAX_DEPTH:
            return "deep"
        seen.add(id(child))
        on_path.add(id(child))
        stack.append((child, depth + 1, iter(_children(child))))
    return None


_END = object()


def _children(value: Any) -> list[Any]:
    return list(value.values()) if isinstance(value, dict) else list(value)


def _too_deep(text: str) -> str:
    """Where the text nests deeper than MAX_DEPTH, found on the event stream (PyYAML's parser does not recurse)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return f"nested more than {MAX_DEPTH} levels deep at line {_line(event)}; config never is"
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return f"nested more than {MAX_DEPTH} levels deep (through aliases); config never is"


RECURSIVE_ALIAS = "a recursive alias makes a value contain itself; an alias may not refer to its own ancestor"


def _recursive_alias(text: str) -> str | None:
    """The alias that refers to a collection it sits in, found on the event stream, or None."""
    open_anchors: list[str | None] = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            open_anchors.append(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            open_anchors.pop()
        elif isinstance(event, yaml.AliasEvent) and event.anchor in open_anchors:
            return (
                f"recursive alias *{event.anchor} at line {_line(event)}: it refers to a value that "
                "contains it; an alias may not refer to its own ancestor"
            )
    return None


def _line(event: yaml.Event) -> str:
    mark = event.start_mark
    return str(mark.line + 1) if mark is not None else "?"


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
