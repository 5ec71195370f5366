"""Issue 14, item 4: one config load and one validation per command, and aws-auth rendered once per plan.

Every entry point goes through ``access.core.config.load`` and ``access.core.quotas.preflight``; each is wrapped
here with a counter, and so is the aws-auth serializer (``awsauth._render``, behind its per-process cache, so the
count is of real renders). A command that read its config twice, re-validated it, or rendered mapRoles again
would fail here.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import NoCredentialsError

from access.commands import aws
from access.commands.cli import main
from access.commands.diff import side
from access.core import awsauth, config, loading, quotas
from access.core.plan.auth import node_map_entry
from access.stack import offline
from tests.helpers import REPO, ConfigTree

Counts = Counter[str]


def _counting(counts: Counts, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def counted(*args: Any, **kwargs: Any) -> Any:
        counts[label] += 1
        return function(*args, **kwargs)

    return counted


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counts:
    found: Counts = Counter()
    monkeypatch.setattr(config, "load", _counting(found, "load", config.load))
    monkeypatch.setattr(quotas, "preflight", _counting(found, "preflight", quotas.preflight))
    monkeypatch.setattr(loading, "check_stack", _counting(found, "verify", loading.check_stack))
    real_render = awsauth._render.__wrapped__

    def render(items: tuple[awsauth.MapEntry, ...], arn_key: str) -> str:
        # The mock cluster's own aws-auth (the node roles EKS wrote) is the cloud's, not the plan's render.
        if any(e.source != "node" for e in items):
            found[f"render {arn_key}"] += 1
        return real_render(items, arn_key)

    # A fresh cache: what earlier tests rendered in this process must not hide a render.
    monkeypatch.setattr(awsauth, "_render", functools.lru_cache(maxsize=32)(render))
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return ConfigTree(tmp_path / "project").project()


@pytest.mark.parametrize("form", [[], ["--full"], ["--format", "json"], ["--format", "markdown"]])
def test_plan_loads_validates_and_renders_aws_auth_once(
    project: Path, form: list[str], counts: Counts, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--stack", "dev", "--project-dir", str(project), *form]) == 0
    assert "eks-dev" in capsys.readouterr().out
    assert counts == {"load": 1, "preflight": 1, "verify": 1, "render rolearn": 1}


def test_one_side_of_a_diff_loads_a_shared_config_once_for_every_stack(project: Path, counts: Counts) -> None:
    stacks = side.stacks_in(project)
    assert stacks == ["dev", "prod", "staging"]
    document = side.side(project, None, "", None)
    assert sorted(document["stacks"]) == stacks
    assert all(document["stacks"][s]["access"] for s in stacks)
    assert counts["load"] == 1 and counts["preflight"] == 1
    assert counts["verify"] == len(stacks)  # each stack's cluster is verified once


def test_kubeconfig_from_plan_loads_once(
    project: Path, tmp_path: Path, counts: Counts, capsys: pytest.CaptureFixture[str]
) -> None:
    kube = tmp_path / "kube" / "config"
    kube.parent.mkdir()
    shutil.copy(REPO / "tests" / "fixtures" / "kubeconfig-existing.yaml", kube)
    args = ["--stack", "dev", "--project-dir", str(project), "--kubeconfig", str(kube)]
    assert main(["kubeconfig", *args, "--user", "erin", "--from-plan", "--dry-run"]) == 0
    assert "eks-dev-offline" in capsys.readouterr().out
    assert counts == {"load": 1, "preflight": 1, "verify": 1, "render rolearn": 1}


def test_whois_loads_the_config_once(
    project: Path, counts: Counts, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_credentials(service: str, region: str | None) -> Any:
        raise NoCredentialsError()

    monkeypatch.setattr(aws, "aws_client", no_credentials)
    args = ["--project-dir", str(project), "--config", str(project / "config"), "--format", "json"]
    main(["whois", *args, "--username", "projecta:dev:alice", "--at", "2026-01-10T08:00:00Z"])
    answer = json.loads(capsys.readouterr().out)
    assert "alice" in json.dumps(answer)
    assert counts["load"] == 1


def test_the_program_under_the_engine_loads_once(project: Path, counts: Counts) -> None:
    """``run_program`` without a loaded stack is the program as ``pulumi`` runs it (``program.load``): the mock
    cluster's aws-auth is made from the organisation the program loaded, not from a second load."""
    run = offline.run_program(project, "dev")
    assert run.of_type("kubernetes:core/v1:ConfigMapPatch")
    assert counts == {"load": 1, "preflight": 1, "verify": 1, "render rolearn": 1}


def test_the_mock_cluster_aws_auth_is_the_node_roles_of_the_loaded_organisation(project: Path) -> None:
    loaded = loading.load_stack(project, "dev")
    nodes = [node_map_entry(n) for n in loaded.org.clusters[loaded.plan.cluster].node_roles]
    assert offline._eks_live_aws_auth(loaded.org, "dev") == {
        "data": {"mapRoles": awsauth.render(nodes)},
        "annotations": {},
    }
