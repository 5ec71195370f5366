"""The layering contract in pyproject.toml (run by `make test` as lint-imports) holds, and bites when broken."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS)], cwd=project, capture_output=True, text=True, check=False)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "access", tmp_path / "access", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_repository_keeps_every_contract() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core/names.py", "import pulumi", "The core is pure"),
        ("core/iam.py", "import boto3", "The core is pure"),
        ("core/evaluate/verify.py", "import subprocess", "The core is pure"),
        ("core/plan/rbac.py", "from access.stack import offline", "Layers: commands over stack over core"),
        ("core/quotas.py", "from access.commands import cli", "Layers: commands over stack over core"),
        ("stack/program.py", "from access.commands.plan import document", "Layers: commands over stack over core"),
        ("commands/diff/render.py", "from access.commands.whois import times", "Commands are independent"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(copy: Path, module: str, line: str, contract: str) -> None:
    path = copy / "access" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = lint_imports(copy)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if row.endswith("BROKEN")]
    # A core module importing the shell also imports Pulumi through it, so more than one contract may break.
    assert any(row.startswith(contract) for row in broken), result.stdout
