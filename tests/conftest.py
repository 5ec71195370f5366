"""Shared fixtures: the sample organisation, editable copies of it, and the offline program runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from access.core.config import load
from access.core.model import Organisation

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = REPO / "config"

Editor = Callable[[str, Callable[[dict[str, Any]], None]], None]


@pytest.fixture(scope="session")
def sample_org() -> Organisation:
    return load(SAMPLE_CONFIG, label="config")


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


@pytest.fixture
def tree(tmp_path: Path) -> ConfigTree:
    return ConfigTree(tmp_path)
