"""What tests share: the repository's paths and an editable copy of the sample config (fixtures are in conftest)."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from access.core.config import load
from access.core.model import Organisation

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = REPO / "config"


def load_policy_pack() -> ModuleType:
    """policy/__main__.py as a module (its __name__ is not "__main__", so the gRPC server does not start)."""
    spec = importlib.util.spec_from_file_location("eks_access_policy_pack", REPO / "policy" / "__main__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Editor = Callable[[str, Callable[[dict[str, Any]], None]], None]


class ConfigTree:
    """A writable copy of the sample config; ``edit`` changes one file's YAML in place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / "config"
        shutil.copytree(SAMPLE_CONFIG, self.dir)

    def edit(self, name: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.dir / name
        data = yaml.safe_load(path.read_text()) or {}
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    def write(self, name: str, text: str) -> None:
        (self.dir / name).write_text(text)

    def load(self) -> Organisation:
        return load(self.dir, label="config")

    def project(self) -> Path:
        """A project directory (Pulumi.yaml + stack files) whose config/ is this copy."""
        for item in REPO.glob("Pulumi*.yaml"):
            shutil.copy(item, self.root / item.name)
        return self.root


# --- editing a config tree: a small language for test cases --------------------------------------------------

Edit = Callable[[ConfigTree], None]
A = "arn:aws:iam::111122223333"


def put(file: str, path: list[str], value: Any) -> Edit:
    """Set ``path`` in ``file`` to ``value`` (creating mappings on the way)."""

    def edit(tree: ConfigTree) -> None:
        def change_data(data: dict[str, Any]) -> None:
            for key in path[:-1]:
                data = data.setdefault(key, {})
            data[path[-1]] = value

        tree.edit(file, change_data)

    return edit


def drop(file: str, path: list[str]) -> Edit:
    def edit(tree: ConfigTree) -> None:
        def change_data(data: dict[str, Any]) -> None:
            for key in path[:-1]:
                data = data[key]
            del data[path[-1]]

        tree.edit(file, change_data)

    return edit


def change(file: str, fn: Callable[[dict[str, Any]], None]) -> Edit:
    return lambda tree: tree.edit(file, fn)


def text(file: str, content: str) -> Edit:
    return lambda tree: tree.write(file, content)


def raw(file: str, content: bytes) -> Edit:
    def edit(tree: ConfigTree) -> None:
        (tree.dir / file).write_bytes(content)

    return edit


def remove(file: str) -> Edit:
    return lambda tree: (tree.dir / file).unlink()


def rule(api_groups: list[str], resources: list[str], verbs: list[str]) -> dict[str, list[str]]:
    return {"api_groups": api_groups, "resources": resources, "verbs": verbs}


def level(*rules: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"rules": list(rules), **extra}


def add_node_role(arn: str) -> Edit:
    return change("environments.yaml", lambda d: d["clusters"]["dev"]["node_roles"].append({"arn": arn}))


def rename_ci(new_id: str) -> Edit:
    return change("access.yaml", lambda d: d.update(ci={new_id: d["ci"]["jenkins"]}))


class ExampleProject:
    """A writable copy of a project under examples/ (stack files and config/)."""

    def __init__(self, name: str, root: Path) -> None:
        shutil.copytree(REPO / "examples" / name, root, dirs_exist_ok=True)
        self.root = root

    def edit(self, name: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.root / "config" / name
        data = yaml.safe_load(path.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    def edit_stack(self, stack: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.root / f"Pulumi.{stack}.yaml"
        data = yaml.safe_load(path.read_text())
        change(data["config"])
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    def load(self) -> Organisation:
        return load(self.root / "config", label="config")

    def error(self) -> str:
        """The one line the config (with its quota preflight) is refused with."""
        from access.core.quotas import preflight
        from access.errors import ConfigError

        try:
            preflight(self.load())
        except ConfigError as error:
            return str(error)
        raise AssertionError("the config was accepted")
