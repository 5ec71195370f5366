"""The package installs with `pip install .` and its `eks-access` console script is `python -m access`."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from tests.helpers import REPO


def test_pip_install_gives_an_eks_access_command_that_plans_like_python_m_access(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    # The package alone (dependencies come from this environment): what `pip install .` puts in a virtualenv.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            # without it pip first uninstalls the environment's own (editable) install of the package
            "--ignore-installed",
            "--prefix",
            prefix,
            ".",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    scheme = sysconfig.get_paths(vars={"base": str(prefix), "platbase": str(prefix)})
    installed = Path(scheme["purelib"])
    assert (installed / "access" / "core" / "config" / "settings.py").is_file()
    assert (installed / "access" / "commands" / "whois" / "correlate.py").is_file()
    console_script = Path(scheme["scripts"]) / "eks-access"
    # Run away from the checkout, so `access` can only come from the installed copy.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), *sys.path[1:]])}
    command = [
        sys.executable,
        str(console_script),
        "plan",
        "--stack",
        "dev",
        "--project-dir",
        str(REPO),
        "--format",
        "json",
    ]
    installed_run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert installed_run.returncode == 0, installed_run.stderr
    module_run = subprocess.run(
        [sys.executable, "-m", "access", "plan", "--stack", "dev", "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert installed_run.stdout == module_run.stdout
    assert '"environment": "dev"' in installed_run.stdout


def test_runtime_lock_holds_no_development_tools() -> None:
    """The Pulumi program's virtualenv installs requirements.txt: runtime dependencies only, every one hashed."""
    lock = (REPO / "requirements.txt").read_text()
    pinned = {line.split("==")[0] for line in lock.splitlines() if "==" in line and not line.startswith("#")}
    assert {"pulumi", "pulumi-aws", "pulumi-kubernetes", "pulumi-eks", "pyyaml", "rich", "boto3"} <= pinned
    assert not pinned & {"pytest", "mypy", "ruff", "hypothesis", "pulumi-policy", "import-linter"}
    entries = [chunk for chunk in lock.split("\n") if "==" in chunk and not chunk.startswith("#")]
    assert all(entry.rstrip().endswith("\\") for entry in entries), "every pin is followed by its hashes"


def test_every_dependency_range_has_an_upper_bound() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for spec in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        assert "<" in spec, f"{spec} has no upper bound"
    assert project["scripts"] == {"eks-access": "access.commands.cli:exit_with"}
