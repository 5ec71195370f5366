"""Shared fixtures: the sample organisation and editable copies of it (helpers live in tests/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from access.core.config import load
from access.core.model import Organisation
from tests.helpers import SAMPLE_CONFIG, ConfigTree


@pytest.fixture(scope="session")
def sample_org() -> Organisation:
    return load(SAMPLE_CONFIG, label="config")


@pytest.fixture
def tree(tmp_path: Path) -> ConfigTree:
    return ConfigTree(tmp_path)
