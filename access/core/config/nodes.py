"""Reading config values with their location: every problem becomes a one-line ConfigError naming file and key."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from access.core import names
from access.core.yamlio import load_mapping
from access.errors import ConfigError

OPTIONAL_FILES = frozenset({"settings.yaml"})


class Node:
    """A value read from a config file, with the key path that leads to it."""

    def __init__(self, file: str, path: str, value: Any) -> None:
        self.file = file
        self.path = path
        self.value = value

    def error(self, message: str) -> ConfigError:
        return ConfigError(self.file, self.path, message)

    def child(self, key: str | int, value: Any) -> Node:
        if isinstance(key, int):
            return Node(self.file, f"{self.path}[{key}]", value)
        if not key.isprintable() or not key:
            # A key with a line break or control character is named escaped, so the message stays one line.
            return Node(self.file, f"{self.path}[{key!r}]", value)
        return Node(self.file, f"{self.path}.{key}" if self.path else key, value)

    def mapping(self, allowed: Iterable[str] | None = None, required: Iterable[str] = ()) -> dict[str, Node]:
        """Children of a mapping; ``allowed=None`` means keys are ids (any string)."""
        if not isinstance(self.value, dict):
            raise self.error(f"must be a mapping, found {describe(self.value)}")
        out: dict[str, Node] = {}
        allowed_set = None if allowed is None else set(allowed)
        for key, value in self.value.items():
            if not isinstance(key, str):
                raise self.error(f"key {key!r} must be a string; quote it")
            if allowed_set is not None and key not in allowed_set:
                raise self.child(key, value).error(f"unknown key; expected one of: {', '.join(sorted(allowed_set))}")
            out[key] = self.child(key, value)
        for key in required:
            if key not in out:
                raise self.error(f"missing required key {key!r}")
        return out

    def items(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.error(f"must be a list, found {describe(self.value)}")
        return [self.child(i, v) for i, v in enumerate(self.value)]

    def string(self) -> str:
        if not isinstance(self.value, str) or not self.value:
            raise self.error(f"must be a non-empty string, found {describe(self.value)}")
        return self.value

    def integer(self, low: int, high: int, why: str = "") -> int:
        """A whole number in ``low..high``; ``why`` completes the out-of-range message (unit, whose limit)."""
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"must be a whole number, found {describe(self.value)}")
        if not low <= self.value <= high:
            raise self.error(f"{self.value} is outside {low}..{high}{why}")
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"must be true or false, found {describe(self.value)}")
        return self.value

    def strings(self) -> list[Node]:
        nodes = self.items()
        for node in nodes:
            node.string()
        return nodes


def describe(value: Any) -> str:
    """How a value reads in a message: ``string 'x'``, ``number 3``, ``a list``, ``nothing``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {value}".lower()
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}" if value else "an empty string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def normalise_id(node: Node, key: str, what: str) -> str:
    """Lowercase an id and check it can become part of IAM and Kubernetes names."""
    norm = key.lower()
    if not names.ID_RE.match(norm):
        raise node.error(
            f"{what} id {key!r} may contain only letters, digits and '-', starting and ending with a letter or digit"
        )
    return norm


def unique_ids(parent: Node, what: str) -> Iterator[tuple[str, Node]]:
    """Yield (normalised id, node) for a mapping of ids, refusing ids equal after lowercasing."""
    seen: dict[str, str] = {}
    for key, node in parent.mapping().items():
        norm = normalise_id(node, key, what)
        if norm in seen:
            raise node.error(f"{what} id {key!r} collides with {seen[norm]!r} (ids are compared lowercased)")
        seen[norm] = key
        yield norm, node


def reference(node: Node, table: dict[str, Any], what: str, where: str, key: str | None = None) -> str:
    """The id ``node`` (or the mapping ``key`` it sits under) refers to; it must be declared in ``table``."""
    raw = key if key is not None else node.string()
    ref = raw.lower()
    if ref not in table:
        known = ", ".join(sorted(table)) or "none"
        raise node.error(f"unknown {what} {raw!r}; declare it in {where} (known: {known})")
    return ref


def principal_arn(node: Node, kinds: tuple[str, ...]) -> str:
    """An IAM principal ARN of one of ``kinds`` (role, user, root); wildcards and groups are refused."""
    arn = node.string()
    if "*" in arn or "?" in arn:
        raise node.error(f"wildcard principal {arn!r} is not allowed; name the exact role or user ARN")
    parsed = parsed_arn(node, arn)
    kind = parsed.resource_type
    if kind == "root" and "root" in kinds:
        return arn
    if kind == "group":
        raise node.error(f"{arn!r} is an IAM group; a group can never be a principal (IAM rejects it), use its role")
    if parsed.service != "iam":
        raise node.error(f"{arn!r} is an STS ARN (a session); expected an IAM {' or '.join(kinds)} ARN")
    if kind not in kinds:
        raise node.error(f"{arn!r} is a {kind} ARN; expected a {' or '.join(kinds)} ARN")
    return arn


def parsed_arn(node: Node, arn: str, example: str = names.ARN_EXAMPLE) -> names.Arn:
    """``arn`` taken apart, its path and name checked against IAM's grammar; every ARN config names passes here."""
    parsed = names.parse_arn(arn, example)
    if isinstance(parsed, str):
        raise node.error(parsed)
    problem = names.arn_name_problem(arn, parsed)
    if problem:
        raise node.error(problem)
    return parsed


def typed_arn(node: Node, kind: str, example: str) -> str:
    """An IAM ARN of one resource type that is not a principal (a managed policy, an OIDC provider)."""
    arn = node.string()
    parsed = parsed_arn(node, arn, example)
    if parsed.resource_type != kind or parsed.service != "iam":
        raise node.error(f"{arn!r} is not an IAM {kind} ARN like {example}")
    return arn


@dataclass
class Source:
    """Where config is read from, and what reading it collected for the cross-file checks."""

    dir: Path
    label: str
    role_refs: list[tuple[str, Node]] = field(default_factory=list)  # role ARNs config names, checked later

    def file_label(self, name: str) -> str:
        return f"{self.label}/{name}"

    def root(self, name: str) -> Node:
        label = self.file_label(name)
        path = self.dir / name
        # lexists: a dangling symlink or a symlink loop is a file that is there and broken, not an absent file
        # (settings.yaml ignored would silently drop MFA, boundaries and tags).
        if name in OPTIONAL_FILES and not os.path.lexists(path):
            return Node(label, "", {})
        return Node(label, "", load_mapping(path, label))

    def arn(self, node: Node, kinds: tuple[str, ...]) -> str:
        """A principal ARN; role ARNs are remembered, since a role config names may not share a name with ours."""
        arn = principal_arn(node, kinds)
        if ":role/" in arn:
            self.role_refs.append((arn, node))
        return arn
