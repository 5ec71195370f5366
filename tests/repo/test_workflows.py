"""The GitHub workflows: which jobs run, with which permissions, in which order, running which commands.

Action inputs are checked against the inputs each action declares in its ``action.yml`` at the pinned
major version (read from the actions' repositories), so a misspelt input cannot silently do nothing.
The commands the workflows run are parsed with our own argument parsers, so a renamed flag fails here.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from access.commands import cli
from access.commands.preview_guard import steps as guard_steps
from tests.helpers import REPO

WORKFLOWS = REPO / ".github" / "workflows"
STACKS = ["dev", "staging", "prod"]  # promotion order

# Inputs declared in action.yml at the pinned tags (actions/checkout v7, actions/setup-python v7, pulumi/actions v7,
# pulumi/auth-actions v2, aws-actions/configure-aws-credentials v6).
ACTION_INPUTS: dict[str, set[str]] = {
    "actions/checkout@v7": {
        "allow-unsafe-pr-checkout", "clean", "fetch-depth", "fetch-tags", "filter", "github-server-url", "lfs",
        "path", "persist-credentials", "ref", "repository", "set-safe-directory", "show-progress", "sparse-checkout",
        "sparse-checkout-cone-mode", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user", "submodules", "token",
    },
    "actions/setup-python@v7": {
        "allow-prereleases", "architecture", "cache", "cache-dependency-path", "check-latest", "freethreaded",
        "pip-version", "python-version", "python-version-file", "token", "update-environment",
    },
    "pulumi/actions@v7": {
        "always-include-summary", "cloud-url", "color", "command", "comment-on-pr", "comment-on-pr-number",
        "comment-on-summary", "config-map", "continue-on-error", "debug", "diff", "edit-pr-comment", "exclude",
        "exclude-dependents", "exclude-protected", "expect-no-changes", "github-token", "log-flow", "log-verbosity",
        "message", "parallel", "plan", "policyPackConfigs", "policyPacks", "pulumi-version", "pulumi-version-file",
        "refresh", "remove", "replace", "secrets-provider", "stack-name", "suppress-outputs", "suppress-progress",
        "target", "target-dependents", "upsert", "work-dir",
    },
    "pulumi/auth-actions@v2": {
        "cloud-url", "export-environment-variables", "organization", "requested-token-type", "scope",
        "token-expiration",
    },
    "aws-actions/configure-aws-credentials@v6": {
        "action-timeout-s", "allowed-account-ids", "audience", "aws-access-key-id", "aws-profile", "aws-region",
        "aws-secret-access-key", "aws-session-token", "custom-tags", "disable-retry", "force-skip-oidc",
        "http-proxy", "inline-session-policy", "managed-session-policies", "mask-aws-account-id", "no-proxy",
        "output-credentials", "output-env-credentials", "overwrite-aws-profile", "retry-max-attempts",
        "role-chaining", "role-duration-seconds", "role-external-id", "role-session-name",
        "role-skip-session-tagging", "role-to-assume", "special-characters-workaround", "sts-endpoint",
        "transitive-tag-keys", "unset-current-credentials", "use-existing-credentials", "web-identity-token-file",
    },
}  # fmt: skip
PULUMI_TOKEN_TYPES = {
    "urn:pulumi:token-type:access_token:organization",
    "urn:pulumi:token-type:access_token:team",
    "urn:pulumi:token-type:access_token:personal",
}


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True) if True in data else data["on"]
    return data


def steps(job: dict[str, Any], uses: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses") == uses]


def step_named(job: dict[str, Any], prefix: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if s.get("name", "").startswith(prefix)]
    return step


def command_lines(script: str, program: str) -> list[str]:
    """Lines of a shell script that run ``program``, with backslash continuations joined."""
    joined = script.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if program in line]


def test_repository_stacks_are_the_promotion_order() -> None:
    assert sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in REPO.glob("Pulumi.*.yaml")) == sorted(STACKS)


@pytest.mark.parametrize("name", ["ci.yml", "preview.yml", "up.yml"])
def test_actions_are_pinned_and_get_only_inputs_they_declare(name: str) -> None:
    for job_id, job in load(name)["jobs"].items():
        for step in job["steps"]:
            if "uses" not in step:
                continue
            assert step["uses"] in ACTION_INPUTS, (name, job_id, step["uses"])
            unknown = set(step.get("with", {})) - ACTION_INPUTS[step["uses"]]
            assert not unknown, (name, job_id, step["uses"], unknown)
            if step["uses"] == "pulumi/auth-actions@v2":
                assert step["with"]["requested-token-type"] in PULUMI_TOKEN_TYPES
            if step["uses"].startswith("aws-actions/configure-aws-credentials"):
                assert {"role-to-assume", "aws-region"} <= set(step["with"])  # OIDC: a role, never access keys


# --- ci.yml -------------------------------------------------------------------------------------------------------


def test_ci_runs_the_readme_test_command_without_credentials() -> None:
    ci = load("ci.yml")
    assert ci["on"] == {"push": {"branches": ["main"]}, "pull_request": None}
    assert ci["permissions"] == {"contents": "read"}
    (job,) = ci["jobs"].values()
    assert "permissions" not in job and "environment" not in job
    assert [s["run"] for s in job["steps"] if "run" in s] == ["make test"]
    assert steps(job, "actions/setup-python@v7")[0]["with"]["python-version"] == "3.11"
    text = (WORKFLOWS / "ci.yml").read_text()
    for credential in ("secrets.", "vars.", "id-token", "aws-actions/", "pulumi/"):
        assert credential not in text
    # The same command the README and .ci/run give.
    assert "make test" in (REPO / "README.md").read_text()
    assert (REPO / ".ci" / "run").read_text().rstrip().endswith("make test")
    assert re.search(r"^test: ", (REPO / "Makefile").read_text(), re.MULTILINE)


# --- preview.yml ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def preview() -> dict[str, Any]:
    return load("preview.yml")


def test_preview_runs_on_pull_requests_and_label_changes(preview: dict[str, Any]) -> None:
    assert preview["on"] == {"pull_request": {"types": ["opened", "synchronize", "reopened", "labeled", "unlabeled"]}}
    assert preview["permissions"] == {"contents": "read"}
    assert preview["concurrency"]["cancel-in-progress"] is True


def test_preview_job_per_stack_with_oidc_and_pr_comment(preview: dict[str, Any]) -> None:
    job = preview["jobs"]["preview"]
    assert job["strategy"]["matrix"]["stack"] == STACKS
    assert job["strategy"]["fail-fast"] is False
    assert job["permissions"] == {"contents": "read", "pull-requests": "write", "id-token": "write"}
    uses = [s.get("uses") for s in job["steps"]]
    # Credentials before Pulumi runs; the policy pack's virtualenv before the preview loads it.
    assert uses.index("aws-actions/configure-aws-credentials@v6") < uses.index("pulumi/actions@v7")
    assert uses.index("pulumi/auth-actions@v2") < uses.index("pulumi/actions@v7")
    install = step_named(job, "Install")["run"]
    assert "make .venv/.installed" in install
    assert "policy/venv/bin/pip install --quiet -r policy/requirements.txt" in install
    (aws,) = steps(job, "aws-actions/configure-aws-credentials@v6")
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    (pulumi,) = steps(job, "pulumi/actions@v7")
    assert pulumi["with"] == {
        "command": "preview",
        "stack-name": "${{ vars.PULUMI_ORG }}/eks-access/${{ matrix.stack }}",
        "work-dir": "./",
        "comment-on-pr": True,
        "edit-pr-comment": True,
        "always-include-summary": True,
        "policyPacks": "policy",
    }
    assert (REPO / pulumi["with"]["policyPacks"] / "PulumiPolicy.yaml").exists()


def test_preview_guard_step_blocks_destructive_changes_unless_labelled(
    preview: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = preview["jobs"]["preview"]
    guard = step_named(job, "No IAM role or aws-auth deleted or replaced")
    assert guard["env"]["ALLOW"] == (
        "${{ contains(github.event.pull_request.labels.*.name, 'allow-destructive-access-change') && '--allow' || '' }}"
    )
    assert guard_steps.ALLOW_LABEL == "allow-destructive-access-change"
    (pulumi_line,) = command_lines(guard["run"], "pulumi preview")
    assert shlex.split(pulumi_line) == ["pulumi", "preview", "--stack", "$FULL_STACK", "--json", ">", "preview.json"]
    (guard_line,) = command_lines(guard["run"], "access preview-guard")
    assert guard_line.startswith(".venv/bin/python -m access preview-guard preview.json ")
    # Run the exact command line (after the shell would expand it) on a preview that deletes a role.
    monkeypatch.chdir(tmp_path)
    urn = "urn:pulumi:dev::eks-access::eks-access:iam:EnvironmentIam$aws:iam/role:Role::dev-projecta-dev-humans"
    (tmp_path / "preview.json").write_text(json.dumps({"steps": [{"op": "delete", "urn": urn}]}))
    for allow, expected in (("", 1), ("--allow", 0)):
        expanded = guard_line.split("|")[0].replace('"$STACK"', "dev").replace("$ALLOW", allow)
        assert cli.main(shlex.split(expanded)[3:]) == expected


def test_access_diff_job_compares_with_the_base_branch_and_comments(preview: dict[str, Any]) -> None:
    job = preview["jobs"]["access-diff"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}  # no cloud credentials
    (checkout,) = steps(job, "actions/checkout@v7")
    assert checkout["with"]["fetch-depth"] == 0
    diff_step = step_named(job, "Access diff")
    assert diff_step["env"] == {"BASE_REF": "${{ github.base_ref }}"}
    (line,) = command_lines(diff_step["run"], "access diff")
    argv = shlex.split(line.split(">")[0].replace('"origin/$BASE_REF"', "origin/main"))
    assert argv[:3] == [".venv/bin/python", "-m", "access"]
    args = cli.build_parser().parse_args(argv[3:])
    assert (args.command, args.base, args.all, args.format) == ("diff", "origin/main", True, "markdown")
    comment = step_named(job, "Comment on the pull request")
    # Posted whenever the diff ran (also when it found sensitive changes), never after bad input.
    assert comment["if"] == "always() && (steps.diff.outputs.exit-code == '0' || steps.diff.outputs.exit-code == '1')"
    assert "<!-- eks-access:access-diff -->" in comment["run"]
    gate = step_named(job, "Sensitive changes need the allow-sensitive-access-change label")
    assert (
        gate["env"]["ALLOWED"]
        == "${{ contains(github.event.pull_request.labels.*.name, 'allow-sensitive-access-change') }}"
    )
    assert gate["env"]["CODE"] == "${{ steps.diff.outputs.exit-code }}"


def test_labels_are_documented(preview: dict[str, Any]) -> None:
    doc = (REPO / "docs" / "pull-requests.md").read_text()
    for label in preview["env"].values():
        assert f"`{label}`" in doc


# --- up.yml -----------------------------------------------------------------------------------------------------


def test_up_runs_on_main_one_environment_after_another() -> None:
    up = load("up.yml")
    assert up["on"] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    assert up["permissions"] == {"contents": "read", "id-token": "write"}
    assert up["concurrency"] == {"group": "pulumi-up", "cancel-in-progress": False}
    jobs = up["jobs"]
    assert list(jobs) == STACKS
    assert "needs" not in jobs["dev"]
    assert jobs["staging"]["needs"] == "dev"
    assert jobs["prod"]["needs"] == "staging"
    for stack, job in jobs.items():
        assert job["environment"] == stack  # GitHub environment protection rules apply
        (aws,) = steps(job, "aws-actions/configure-aws-credentials@v6")
        assert aws["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        assert aws["with"]["role-session-name"] == f"eks-access-up-{stack}-${{{{ github.run_id }}}}"
        (pulumi,) = steps(job, "pulumi/actions@v7")
        assert pulumi["with"]["command"] == "up"
        assert pulumi["with"]["stack-name"] == f"${{{{ vars.PULUMI_ORG }}}}/eks-access/{stack}"
        assert pulumi["with"]["policyPacks"] == "policy"
        uses = [s.get("uses") for s in job["steps"]]
        assert uses.index("aws-actions/configure-aws-credentials@v6") < uses.index("pulumi/actions@v7")
