"""The consumer example of docs/outputs.md, run under Pulumi's mocks against a mocked StackReference.

The StackReference answers with the outputs of the real eks-access program (run offline first), so the
test proves that what a consumer reads with ``require_output`` exists, has the documented shape, and ends
up where the consumer puts it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from access.stack.offline import FAKE_CA, FAKE_ENDPOINT, Fixtures, OfflineRun, run_program
from tests.helpers import REPO

MARKER = "<!-- consumer-example: tests/stack/test_consumer.py executes the next python block -->"


def consumer_source() -> str:
    doc = (REPO / "docs" / "outputs.md").read_text()
    after = doc.split(MARKER, 1)[1]
    match = re.match(r"\s*```python\n(.*?)\n```", after, re.DOTALL)
    assert match, "the consumer example block must follow its marker"
    return match.group(1)


def run_consumer(
    stack: str, published: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[OfflineRun, dict[str, Any]]:
    exported: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", exported.__setitem__)
    code = compile(consumer_source(), "docs/outputs.md", "exec")

    def consumer() -> dict[str, Any]:
        exec(code, {"__name__": "__main__"})
        return exported

    run = run_program(REPO, stack, Fixtures(stack_outputs=published), program=consumer)
    return run, exported


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_consumer_reads_the_published_outputs(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    published = run_program(REPO, stack).outputs
    run, _ = run_consumer(stack, published, monkeypatch)

    (reference,) = [r for r in run.resources if r.type == "pulumi:pulumi:StackReference"]
    assert reference.inputs["name"] == f"acme/eks-access/{stack}"

    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs["namespace"] == f"projecta-{stack}"
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    assert kubeconfig["clusters"] == [
        {"name": f"eks-{stack}", "cluster": {"server": FAKE_ENDPOINT, "certificate-authority-data": FAKE_CA}}
    ]
    assert kubeconfig["contexts"][0]["context"]["namespace"] == f"projecta-{stack}"
    assert kubeconfig["users"][0]["user"]["exec"]["args"] == [
        "--region",
        "eu-west-1",
        "eks",
        "get-token",
        "--cluster-name",
        f"eks-{stack}",
        "--role-arn",
        f"arn:aws:iam::111122223333:role/jenkins-{stack}-deployer",
        "--output",
        "json",
    ]

    (config_map,) = [r for r in run.resources if r.type == "kubernetes:core/v1:ConfigMap"]
    assert config_map.inputs["data"] == {"environment": stack}
    assert config_map.provider == (
        f"urn:pulumi:{stack}::eks-access::pulumi:pulumi:Stack$pulumi:providers:kubernetes::projecta::projecta-id"
    )
    assert run.outputs == {"namespace": f"projecta-{stack}"}


def test_consumer_fails_when_a_required_output_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    published = run_program(REPO, "dev").outputs
    del published["ciRoleArns"]
    with pytest.raises(KeyError, match="ciRoleArns"):
        run_consumer("dev", published, monkeypatch)
