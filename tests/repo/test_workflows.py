"""The GitHub workflows: which jobs run, with which permissions and tokens, running whose code, in which order.

Every third-party action is pinned to a full commit SHA (the tag in a comment) and given only inputs its
``action.yml`` declares at that tag (read from the actions' repositories). The commands the workflows run are
parsed with our own argument parsers, so a renamed flag fails here. actionlint and zizmor run on the files too.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from access.commands import cli
from access.commands.preview_guard import steps as guard_steps
from tests.helpers import REPO

WORKFLOWS = REPO / ".github" / "workflows"
BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
STACKS = ["dev", "staging", "prod"]  # promotion order

# action -> (commit, tag, inputs its action.yml declares at that tag)
PINS: dict[str, tuple[str, str, set[str]]] = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1", {
        "allow-unsafe-pr-checkout", "clean", "fetch-depth", "fetch-tags", "filter", "github-server-url", "lfs",
        "path", "persist-credentials", "ref", "repository", "set-safe-directory", "show-progress", "sparse-checkout",
        "sparse-checkout-cone-mode", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user", "submodules", "token",
    }),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0", {
        "allow-prereleases", "architecture", "cache", "cache-dependency-path", "check-latest", "freethreaded",
        "pip-version", "python-version", "python-version-file", "token", "update-environment",
    }),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0", {
        "name", "path", "if-no-files-found", "retention-days", "compression-level", "overwrite",
        "include-hidden-files", "archive",
    }),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1", {
        "name", "artifact-ids", "path", "pattern", "merge-multiple", "github-token", "repository", "run-id",
        "skip-decompress", "digest-mismatch",
    }),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0", {
        "always-include-summary", "cloud-url", "color", "command", "comment-on-pr", "comment-on-pr-number",
        "comment-on-summary", "config-map", "continue-on-error", "debug", "diff", "edit-pr-comment", "exclude",
        "exclude-dependents", "exclude-protected", "expect-no-changes", "github-token", "log-flow", "log-verbosity",
        "message", "parallel", "plan", "policyPackConfigs", "policyPacks", "pulumi-version", "pulumi-version-file",
        "refresh", "remove", "replace", "secrets-provider", "stack-name", "suppress-outputs", "suppress-progress",
        "target", "target-dependents", "upsert", "work-dir",
    }),
    "pulumi/auth-actions": ("141415910c3beb54e03b48e9057c204c97b956f2", "v2.1.0", {
        "cloud-url", "export-environment-variables", "organization", "requested-token-type", "scope",
        "token-expiration",
    }),
    "aws-actions/configure-aws-credentials": ("e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3", {
        "action-timeout-s", "allowed-account-ids", "audience", "aws-access-key-id", "aws-profile", "aws-region",
        "aws-secret-access-key", "aws-session-token", "custom-tags", "disable-retry", "force-skip-oidc",
        "http-proxy", "inline-session-policy", "managed-session-policies", "mask-aws-account-id", "no-proxy",
        "output-credentials", "output-env-credentials", "overwrite-aws-profile", "retry-max-attempts",
        "role-chaining", "role-duration-seconds", "role-external-id", "role-session-name",
        "role-skip-session-tagging", "role-to-assume", "special-characters-workaround", "sts-endpoint",
        "transitive-tag-keys", "unset-current-credentials", "use-existing-credentials", "web-identity-token-file",
    }),
}  # fmt: skip
ORGANIZATION_TOKEN = "urn:pulumi:token-type:access_token:organization"
TEAM_TOKEN = "urn:pulumi:token-type:access_token:team"
NOT_SYNCHRONIZE = "github.event.action != 'synchronize'"


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True) if True in data else data["on"]  # YAML 1.1 reads the key `on` as True
    return data


def all_steps() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path.name, job_id, step)
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for job_id, job in load(path.name)["jobs"].items()
        for step in job.get("steps", [])
    ]


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def step_named(job: dict[str, Any], prefix: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if s.get("name", "").startswith(prefix)]
    return step


def command_lines(script: str, program: str) -> list[str]:
    """Lines of a shell script that run ``program``, with backslash continuations joined."""
    joined = script.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if program in line]


def parse(line: str) -> Any:
    """The ``python -m access ...`` arguments of a workflow line, through our own parser."""
    argv = shlex.split(line.split(" > ", maxsplit=1)[0].split(" | ", maxsplit=1)[0])
    start = argv.index("access") + 1
    return cli.build_parser().parse_args([a for a in argv[start:] if a != '"${allow[@]}"' and a != "${allow[@]}"])


def test_repository_stacks_are_the_promotion_order() -> None:
    assert sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in REPO.glob("Pulumi.*.yaml")) == sorted(STACKS)


def test_every_action_is_pinned_to_a_commit_with_its_tag_and_gets_only_declared_inputs() -> None:
    seen = set()
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text()
        for action, ref, comment in re.findall(r"uses: ([\w./-]+)@(\S+)(?: # (\S+))?", text):
            assert action in PINS, (path.name, action)
            commit, tag, _ = PINS[action]
            assert (ref, comment) == (commit, tag), (path.name, action, ref, comment)
            seen.add(action)
    assert seen == set(PINS)
    for name, job_id, step in all_steps():
        if "uses" in step and not step["uses"].startswith("$/"):
            unknown = set(step.get("with", {})) - PINS[step["uses"].split("@")[0]][2]
            assert not unknown, (name, job_id, step["uses"], unknown)


def test_no_pull_request_target_and_least_permissions() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        assert "pull_request_target" not in path.read_text(), path.name
    assert load("ci.yml")["permissions"] == {"contents": "read"}
    for name in ("preview.yml", "up.yml", "deploy.yml"):
        assert load(name)["permissions"] == {}, name  # every job says what it needs
    jobs = load("preview.yml")["jobs"]
    assert {job_id: job["permissions"] for job_id, job in jobs.items()} == {
        "acknowledgements": {"pull-requests": "write"},
        "head-snapshot": {"contents": "read"},  # the pull request's code: nothing to write, no OIDC
        "access-diff": {"contents": "read", "pull-requests": "write"},  # the base's code only
        "preview": {"contents": "read", "id-token": "write"},
    }
    assert load("deploy.yml")["jobs"]["up"]["permissions"] == {"contents": "read", "id-token": "write"}


def test_no_pull_request_job_requests_an_organization_token() -> None:
    for name, job_id, step in all_steps():
        if step.get("uses", "").startswith("pulumi/auth-actions"):
            assert step["with"]["requested-token-type"] == TEAM_TOKEN, (name, job_id)
            assert step["with"]["scope"].startswith("team:${{ vars.PULUMI_"), (name, job_id)
    for path in WORKFLOWS.glob("*.yml"):
        assert ORGANIZATION_TOKEN not in path.read_text(), path.name
    (preview_token,) = uses(load("preview.yml")["jobs"]["preview"], "pulumi/auth-actions")
    assert preview_token["with"]["scope"] == "team:${{ vars.PULUMI_PREVIEW_TEAM }}"
    (deploy_token,) = uses(load("deploy.yml")["jobs"]["up"], "pulumi/auth-actions")
    assert deploy_token["with"]["scope"] == "team:${{ vars.PULUMI_DEPLOY_TEAM }}"


# --- ci.yml -------------------------------------------------------------------------------------------------------


def test_ci_runs_the_readme_test_command_without_credentials() -> None:
    ci = load("ci.yml")
    assert ci["on"] == {"push": {"branches": ["main"]}, "pull_request": None}
    (job,) = ci["jobs"].values()
    assert "permissions" not in job and "environment" not in job
    assert [s["run"] for s in job["steps"] if "run" in s] == ["make test"]
    text = (WORKFLOWS / "ci.yml").read_text()
    for credential in ("secrets.", "vars.", "id-token", "aws-actions/", "pulumi/"):
        assert credential not in text
    assert "make test" in (REPO / "README.md").read_text()
    # .ci/run: the README's test command, then the end-to-end suite (docs/e2e.md), nothing else
    ci_run = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci_run[-2:] == ["make test", "make e2e"]
    makefile = (REPO / "Makefile").read_text()
    test_target = makefile[makefile.index("\ntest: ") :].split("\n\n")[0]
    assert "$(VENV)/bin/actionlint -shellcheck=$(VENV)/bin/shellcheck -pyflakes=" in test_target
    assert "$(VENV)/bin/zizmor --offline --no-progress .github/workflows" in test_target


def test_the_workflows_pass_actionlint_and_zizmor() -> None:
    """The wheels ship their binaries (nothing is downloaded); both must pass on the files as committed."""
    version = subprocess.run([BIN / "actionlint", "-version"], capture_output=True, text=True, check=True)
    assert "actionlint" in version.stdout
    lint = subprocess.run(
        [BIN / "actionlint", f"-shellcheck={BIN / 'shellcheck'}", "-pyflakes="],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr
    audit = subprocess.run(
        [BIN / "zizmor", "--offline", "--no-progress", ".github/workflows"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr


# --- preview.yml ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def preview() -> dict[str, Any]:
    return load("preview.yml")


def test_preview_runs_on_pull_requests_and_label_changes(preview: dict[str, Any]) -> None:
    assert preview["on"] == {"pull_request": {"types": ["opened", "synchronize", "reopened", "labeled", "unlabeled"]}}
    assert preview["concurrency"]["cancel-in-progress"] is True


def test_new_commits_clear_the_acknowledgements(preview: dict[str, Any]) -> None:
    job = preview["jobs"]["acknowledgements"]
    assert job["if"] == "github.event.action == 'synchronize'"
    script = job["steps"][0]["run"]
    assert 'gh api --method DELETE "repos/$GITHUB_REPOSITORY/issues/$PR/labels/$label"' in script
    assert 'for label in "$SENSITIVE_LABEL" "$DESTRUCTIVE_LABEL"' in script
    assert "fork pull request" in script
    # The push that voids a label may race its removal: on that event the checks do not count the label at all.
    gate = step_named(preview["jobs"]["access-diff"], "Sensitive changes need")
    assert gate["env"]["ALLOWED"].startswith(f"${{{{ {NOT_SYNCHRONIZE} && contains(")
    guard = step_named(preview["jobs"]["preview"], "No deletes or replacements")
    assert guard["env"]["ALLOWED"].startswith(f"${{{{ {NOT_SYNCHRONIZE} && contains(")
    assert preview["env"] == {
        "SENSITIVE_LABEL": "allow-sensitive-access-change",
        "DESTRUCTIVE_LABEL": guard_steps.ALLOW_LABEL,
    }


def test_the_head_snapshot_is_the_only_place_the_pull_requests_code_runs_for_the_diff(preview: dict[str, Any]) -> None:
    job = preview["jobs"]["head-snapshot"]
    (line,) = command_lines(job["steps"][2]["run"], "access diff-snapshot")
    args = parse(line)
    assert (args.command, args.project_dir) == ("diff-snapshot", Path("."))
    (upload,) = uses(job, "actions/upload-artifact")
    assert upload["with"]["name"] == "head-snapshot" and upload["with"]["path"] == "head-snapshot.json"


def test_the_access_diff_runs_the_base_branchs_code_on_the_pull_request_as_data(preview: dict[str, Any]) -> None:
    job = preview["jobs"]["access-diff"]
    assert job["needs"] == "head-snapshot" and job["if"].startswith("always()")
    (checkout,) = uses(job, "actions/checkout")
    assert checkout["with"] == {"path": "head", "fetch-depth": 2, "persist-credentials": False}
    scripts = [s["run"] for s in job["steps"] if "run" in s]
    assert scripts[0] == "git -C head worktree add --detach ../gate HEAD^1"  # the merge commit's first parent
    assert scripts[1] == "make -C gate .venv/.runtime"
    # Nothing from the pull request is executed: every program run comes from the gate's checkout.
    for script in scripts:
        for line in command_lines(script, "python"):
            assert line.startswith("gate/.venv/bin/python -m access "), line
        assert "make ." not in script and "head/.venv" not in script
    (line,) = command_lines(step_named(job, "Access diff")["run"], "access diff")
    args = parse(line)
    assert (args.base, args.head, args.head_snapshot, args.project_dir, args.report_dir) == (
        "HEAD^1",
        "HEAD",
        Path("head-snapshot.json"),
        Path("head"),
        Path("report"),
    )
    assert args.fail_on == cli.build_parser().parse_args(["diff", "--base", "x"]).fail_on  # every category
    comment = step_named(job, "Comment on the pull request")
    assert "cat report/comment.md" in comment["run"] and "<!-- eks-access:access-diff -->" in comment["run"]
    assert "fork pull request" in comment["run"]
    summary = step_named(job, "Job summary")["run"]
    assert "-lt 1000000" in summary and "report/access-diff.md" in summary
    gate = step_named(job, "Sensitive changes need")
    assert 'if [ "$CODE" != "0" ] && [ "$CODE" != "1" ]' in gate["run"]  # no result is a failure, never a pass


def test_preview_uses_the_pull_requests_program_with_the_base_branchs_policy_pack_and_guard(
    preview: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = preview["jobs"]["preview"]
    assert job["strategy"] == {"fail-fast": False, "matrix": {"stack": STACKS}}
    assert "fork pull request" in step_named(job, "Skip pull requests from forks")["run"]
    (aws,) = uses(job, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    names = [s.get("name", s.get("uses", "")) for s in job["steps"]]
    run = step_named(job, "pulumi preview with the base branch's policy pack")
    assert names.index(run["name"]) > max(i for i, n in enumerate(names) if "credentials" in n or "token" in n)
    assert run["working-directory"] == "head"
    assert command_lines(run["run"], "pulumi preview") == [
        'pulumi preview --stack "$STACK" --policy-pack ../gate/policy --diff --non-interactive',
        'pulumi preview --stack "$STACK" --json > ../preview.json',
    ]
    assert run["env"]["EKS_ACCESS_CONFIG_DIR"] == "${{ github.workspace }}/head/config"
    guard = step_named(job, "No deletes or replacements")
    (line,) = command_lines(guard["run"], "access preview-guard")
    assert line.startswith("gate/.venv/bin/python -m access preview-guard preview.json ")
    monkeypatch.chdir(tmp_path)
    urn = "urn:pulumi:dev::eks-access::eks-access:iam:EnvironmentIam$aws:iam/role:Role::dev-projecta-dev-humans"
    (tmp_path / "preview.json").write_text(json.dumps({"steps": [{"op": "delete", "urn": urn}]}))
    args = parse(line.replace('"$STACK"', "dev"))
    assert args.func(args) == 1
    args.allow = True
    assert args.func(args) == 0


def test_labels_are_documented(preview: dict[str, Any]) -> None:
    doc = (REPO / "docs" / "pull-requests.md").read_text()
    for label in preview["env"].values():
        assert f"`{label}`" in doc


# --- up.yml and deploy.yml ------------------------------------------------------------------------------------------


def test_up_deploys_one_environment_after_another_with_one_reusable_job() -> None:
    up = load("up.yml")
    assert set(up["on"]) == {"push", "workflow_dispatch"} and up["on"]["push"] == {"branches": ["main"]}
    assert "concurrency" not in up  # per environment, in deploy.yml: dev never waits behind a prod approval
    jobs = up["jobs"]
    assert list(jobs) == STACKS
    assert "needs" not in jobs["dev"] and jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    for stack, job in jobs.items():
        assert job["uses"] == "$/.github/workflows/deploy.yml"
        assert job["with"]["environment"] == stack
        assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_deploy_runs_the_guard_on_exactly_what_it_applies() -> None:
    deploy = load("deploy.yml")
    assert set(deploy["on"]["workflow_call"]["inputs"]) == {"environment", "allow-destructive"}
    job = deploy["jobs"]["up"]
    assert job["environment"] == "${{ inputs.environment }}"  # protection rules; OIDC sub environment:<env>
    assert job["concurrency"] == {
        "group": "eks-access-deploy-${{ inputs.environment }}",
        "cancel-in-progress": False,
    }
    (aws,) = uses(job, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    tip = step_named(job, "Deploy only the tip of main")
    assert 'gh api "repos/$GITHUB_REPOSITORY/commits/main"' in tip["run"] and "::notice::" in tip["run"]
    scripts = [s.get("run", "") for s in job["steps"]]
    preview_at = next(i for i, s in enumerate(scripts) if "pulumi preview" in s)
    guard_at = next(i for i, s in enumerate(scripts) if "access preview-guard" in s)
    up_at = next(i for i, s in enumerate(scripts) if "pulumi up" in s)
    assert preview_at < guard_at < up_at
    assert scripts[preview_at] == (
        'pulumi preview --stack "$STACK" --policy-pack policy --save-plan plan.json --json > preview.json'
    )
    assert scripts[up_at] == 'pulumi up --stack "$STACK" --policy-pack policy --plan plan.json --yes --non-interactive'
    (line,) = command_lines(scripts[guard_at], "access preview-guard")
    args = parse(line)
    assert (args.preview, args.format) == ("preview.json", "markdown")
    # Allowed only by the label of the pull request merged as this commit, or a reviewed dispatch.
    assert "commits/$GITHUB_SHA/pulls" in scripts[guard_at]
    for step in job["steps"][1:]:
        assert step["if"] == "steps.tip.outputs.superseded == 'false'", step.get("name", step.get("uses"))
