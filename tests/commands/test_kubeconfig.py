"""``python -m access kubeconfig``: exact contexts and users, merging that keeps everything, idempotence,
backup and file mode, one-line errors, and the boto3 call shapes (botocore Stubber)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from access.commands import aws
from access.commands.cli import main
from access.commands.kubeconfig import sources
from access.core import callers, kubeconfig
from tests.helpers import REPO, ConfigTree

FIXTURES = REPO / "tests" / "fixtures"
EXISTING = FIXTURES / "kubeconfig-existing.yaml"
OUTPUTS = FIXTURES / "stack-outputs-dev.json"

DEV_CLUSTER_ARN = "arn:aws:eks:eu-west-1:111122223333:cluster/eks-dev"
REAL_ENDPOINT = "https://5E1D0CEXAMPLEA591B746AFC5AB30262.yl4.eu-west-1.eks.amazonaws.com"
REAL_CA = json.loads(OUTPUTS.read_text())["cluster"]["certificateAuthorityData"]
OFFLINE_ENDPOINT = "https://0123456789ABCDEF0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com"
OFFLINE_CLUSTER = "eks-dev-offline"


def authenticator(role: str, session: str, cluster: str = "eks-dev") -> dict[str, Any]:
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws-iam-authenticator",
            "args": [
                "token",
                "--cluster-id",
                cluster,
                "--role",
                f"arn:aws:iam::111122223333:role/{role}",
                "--session-name",
                session,
                "--region",
                "eu-west-1",
            ],
            "interactiveMode": "IfAvailable",
            "installHint": kubeconfig.AUTHENTICATOR_HINT,
        }
    }


@pytest.fixture
def fake_pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `pulumi` on PATH that records how it was called and prints the fixture outputs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "pulumi-calls.jsonl"
    script = bin_dir / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(calls)!r}, 'a') as f:\n"
        "    f.write(json.dumps({'argv': sys.argv[1:], 'cwd': os.getcwd()}) + '\\n')\n"
        f"sys.stdout.write(open(os.environ.get('FAKE_PULUMI_OUTPUTS', {str(OUTPUTS)!r})).read())\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


@pytest.fixture
def kube(tmp_path: Path) -> Path:
    path = tmp_path / "home" / ".kube" / "config"
    path.parent.mkdir(parents=True)
    shutil.copy(EXISTING, path)
    path.chmod(0o600)
    return path


def kubeconfig_args(path: Path, *extra: str) -> list[str]:
    return ["kubeconfig", "--stack", "dev", "--project-dir", str(REPO), "--kubeconfig", str(path), *extra]


def by_name(document: dict[str, Any], section: str) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in document[section]}


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.eks-access-*.bak"))


# --- user entries --------------------------------------------------------------------------------------------


def test_exec_user_for_the_provider_uses_aws_eks_get_token_without_a_session_name() -> None:
    assert kubeconfig.exec_user("eks-dev", "eu-west-1", "arn:aws:iam::111122223333:role/deployer") == {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": [
                "--region",
                "eu-west-1",
                "eks",
                "get-token",
                "--cluster-name",
                "eks-dev",
                "--output",
                "json",
                "--role-arn",
                "arn:aws:iam::111122223333:role/deployer",
            ],
            "interactiveMode": "Never",
        }
    }
    provider = json.loads(kubeconfig.exec_kubeconfig("https://x.example", "Q0E=", "eks-dev", None, None))
    assert provider["users"] == [
        {
            "name": "eks-dev",
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "command": "aws",
                    "args": ["eks", "get-token", "--cluster-name", "eks-dev", "--output", "json"],
                    "interactiveMode": "Never",
                }
            },
        }
    ]


def test_authenticator_user_sets_the_session_name_the_trust_policy_requires() -> None:
    user = kubeconfig.authenticator_user("eks-dev", None, "arn:aws:iam::111122223333:role/projecta-dev-humans", "alice")
    assert user["exec"]["command"] == "aws-iam-authenticator"
    assert user["exec"]["args"] == [
        "token",
        "--cluster-id",
        "eks-dev",
        "--role",
        "arn:aws:iam::111122223333:role/projecta-dev-humans",
        "--session-name",
        "alice",
    ]


# --- merging into an existing kubeconfig ---------------------------------------------------------------------


def test_merge_keeps_everything_adds_exact_entries_backs_up_and_keeps_0600(
    kube: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original_text = kube.read_text()
    original = yaml.safe_load(original_text)

    assert main(kubeconfig_args(kube, "--user", "alice")) == 0

    merged = yaml.safe_load(kube.read_text())
    # everything that was there is still there, unchanged
    for section in ("clusters", "contexts", "users"):
        for name, item in by_name(original, section).items():
            assert by_name(merged, section)[name] == item
    assert merged["current-context"] == "kind-kind"
    assert merged["preferences"] == {}
    # exactly one cluster, one context and one user were added
    assert by_name(merged, "clusters")[DEV_CLUSTER_ARN] == {
        "name": DEV_CLUSTER_ARN,
        "cluster": {"server": REAL_ENDPOINT, "certificate-authority-data": REAL_CA},
    }
    assert merged["contexts"][len(original["contexts"]) :] == [
        {
            "name": "projecta-dev",
            "context": {"cluster": DEV_CLUSTER_ARN, "user": "alice@projecta-dev", "namespace": "projecta-dev"},
        }
    ]
    assert merged["users"][len(original["users"]) :] == [
        {"name": "alice@projecta-dev", "user": authenticator("projecta-dev-humans", "alice")}
    ]
    assert len(merged["clusters"]) == len(original["clusters"]) + 1

    [backup] = backups(kube)
    assert backup.read_text() == original_text
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(kube.stat().st_mode) == 0o600
    assert [json.loads(line) for line in fake_pulumi.read_text().splitlines()] == [
        {"argv": ["stack", "output", "--json", "-s", "dev"], "cwd": str(REPO)}
    ]
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{kube}: backup of the previous file in {backup}"
    assert out[1:] == [
        "added context projecta-dev: namespace projecta-dev, role arn:aws:iam::111122223333:role/projecta-dev-humans",
        f"{kube}: wrote 1 context(s) for alice on eks-dev",
    ]


def test_second_run_changes_nothing(kube: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(kubeconfig_args(kube, "--user", "alice")) == 0
    first = kube.read_bytes()
    first_backups = backups(kube)
    capsys.readouterr()

    assert main(kubeconfig_args(kube, "--user", "alice")) == 0

    assert kube.read_bytes() == first
    assert backups(kube) == first_backups
    assert capsys.readouterr().out == f"{kube}: unchanged (1 context(s) already up to date)\n"


def test_new_kubeconfig_is_created_0600_with_the_first_context_current(tmp_path: Path, fake_pulumi: Path) -> None:
    path = tmp_path / "new" / "config"
    assert main(kubeconfig_args(path, "--user", "erin")) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert backups(path) == []
    document = yaml.safe_load(path.read_text())
    assert document == {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": DEV_CLUSTER_ARN, "cluster": {"server": REAL_ENDPOINT, "certificate-authority-data": REAL_CA}}
        ],
        # cluster admins get a cluster-wide context: no namespace preset
        "contexts": [
            {"name": "dev-cluster-admin", "context": {"cluster": DEV_CLUSTER_ARN, "user": "erin@dev-cluster-admin"}}
        ],
        "users": [{"name": "erin@dev-cluster-admin", "user": authenticator("dev-cluster-admins", "erin")}],
        "current-context": "dev-cluster-admin",
        "preferences": {},
    }


def test_changed_access_updates_in_place_and_flags_contexts_no_longer_granted(
    kube: Path, fake_pulumi: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(kubeconfig_args(kube, "--user", "alice")) == 0
    # Another tool adds a user after ours; then the role is recreated under a new path: our user entry must
    # be replaced where it is, not moved behind the other one.
    document = yaml.safe_load(kube.read_text())
    document["users"].append({"name": "later", "user": {"token": "abc"}})
    kube.write_text(yaml.safe_dump(document, sort_keys=False))
    before = yaml.safe_load(kube.read_text())
    outputs = json.loads(OUTPUTS.read_text())
    outputs["kubeconfigs"]["projecta"]["operate"]["roleArn"] = (
        "arn:aws:iam::111122223333:role/people/projecta-dev-humans"
    )
    changed = tmp_path / "outputs.json"
    changed.write_text(json.dumps(outputs))
    monkeypatch.setenv("FAKE_PULUMI_OUTPUTS", str(changed))
    capsys.readouterr()

    assert main(kubeconfig_args(kube, "--user", "alice")) == 0

    after = yaml.safe_load(kube.read_text())
    assert [u["name"] for u in after["users"]] == [u["name"] for u in before["users"]]
    assert by_name(after, "users")["alice@projecta-dev"]["user"]["exec"]["args"][4] == (
        "arn:aws:iam::111122223333:role/people/projecta-dev-humans"
    )
    assert "updated context" not in capsys.readouterr().out  # the context itself did not change
    assert len(backups(kube)) >= 1

    # A context written for alice earlier that her teams no longer grant is reported, never deleted.
    stale = {"name": "projectb-dev", "context": {"cluster": DEV_CLUSTER_ARN, "user": "alice@projectb-dev"}}
    document = yaml.safe_load(kube.read_text())
    document["contexts"].append(stale)
    kube.write_text(yaml.safe_dump(document, sort_keys=False))
    assert main(kubeconfig_args(kube, "--user", "alice")) == 0
    assert stale in yaml.safe_load(kube.read_text())["contexts"]
    assert capsys.readouterr().err == (
        "note: context projectb-dev was written for alice earlier but is no longer granted; "
        "remove it with: kubectl config delete-context projectb-dev\n"
    )


def test_dry_run_prints_the_merge_and_writes_nothing(
    kube: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = kube.read_bytes()
    assert main(kubeconfig_args(kube, "--user", "ALICE", "--dry-run")) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert kube.read_bytes() == original
    assert backups(kube) == []
    # IAM user names compare ignoring case; the session name is the name as IAM stores it (config's spelling)
    assert by_name(printed, "users")["alice@projecta-dev"]["user"]["exec"]["args"][6] == "alice"
    assert len(printed["contexts"]) == 3


def test_from_plan_works_offline_and_kubectl_reads_the_result(kube: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(kubeconfig_args(kube, "--user", "erin", "--from-plan")) == 0
    document = yaml.safe_load(kube.read_text())
    assert by_name(document, "clusters")[OFFLINE_CLUSTER]["cluster"]["server"] == OFFLINE_ENDPOINT
    assert DEV_CLUSTER_ARN not in by_name(document, "clusters")
    assert document["current-context"] == "kind-kind"
    assert capsys.readouterr().err == (
        f"note: offline preview: cluster {OFFLINE_CLUSTER} has the offline run's placeholder endpoint, nothing "
        "answers there; for working contexts run without --from-plan\n"
    )
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl not installed: the independent read-back check needs it")
    env = {**os.environ, "KUBECONFIG": str(kube)}
    names = subprocess.run(
        ["kubectl", "config", "get-contexts", "-o", "name"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(names) == sorted(
        ["kind-kind", "arn:aws:eks:us-east-1:444455556666:cluster/analytics", "dev-cluster-admin-offline"]
    )
    view = subprocess.run(
        ["kubectl", "config", "view", "--minify", "--context", "dev-cluster-admin-offline", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    minified = json.loads(view.stdout)
    assert minified["users"][0]["user"]["exec"]["args"][:6] == [
        "token",
        "--cluster-id",
        "eks-dev",
        "--role",
        "arn:aws:iam::111122223333:role/dev-cluster-admins",
        "--session-name",
    ]


def test_from_plan_never_replaces_a_working_cluster_entry(
    kube: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(kubeconfig_args(kube, "--user", "alice")) == 0  # the working entry, from the stack outputs
    working = yaml.safe_load(kube.read_text())
    assert main(kubeconfig_args(kube, "--user", "alice", "--from-plan")) == 0
    after = yaml.safe_load(kube.read_text())
    for section in ("clusters", "contexts", "users"):
        for name, item in by_name(working, section).items():
            assert by_name(after, section)[name] == item
    assert by_name(after, "contexts")["projecta-dev-offline"]["context"] == {
        "cluster": OFFLINE_CLUSTER,
        "user": "alice@projecta-dev-offline",
        "namespace": "projecta-dev",
    }
    first = kube.read_bytes()
    capsys.readouterr()
    assert main(kubeconfig_args(kube, "--user", "alice", "--from-plan")) == 0
    assert kube.read_bytes() == first
    assert capsys.readouterr().out == f"{kube}: unchanged (1 context(s) already up to date)\n"


@pytest.mark.parametrize(
    ("section", "entry", "message"),
    [
        (
            "clusters",
            {"name": OFFLINE_CLUSTER, "cluster": {"server": REAL_ENDPOINT, "certificate-authority-data": REAL_CA}},
            f"cluster {OFFLINE_CLUSTER} has server {REAL_ENDPOINT}; the offline run would replace it with a "
            "placeholder endpoint: use --dry-run, or --kubeconfig FILE to write elsewhere",
        ),
        (
            "contexts",
            {"name": "projecta-dev-offline", "context": {"cluster": "kind-kind", "user": "alice@projecta-dev-offline"}},
            "context projecta-dev-offline is for cluster kind-kind; the offline run would point it at a placeholder "
            "endpoint: use --dry-run, or --kubeconfig FILE to write elsewhere",
        ),
    ],
)
def test_from_plan_refuses_to_take_over_an_entry_it_did_not_write(
    kube: Path, capsys: pytest.CaptureFixture[str], section: str, entry: dict[str, Any], message: str
) -> None:
    document = yaml.safe_load(kube.read_text())
    document[section].append(entry)
    kube.write_text(yaml.safe_dump(document, sort_keys=False))
    before = kube.read_bytes()
    assert main(kubeconfig_args(kube, "--user", "alice", "--from-plan")) == 2
    assert capsys.readouterr().err == f"error: {kube}: {message}\n"
    assert kube.read_bytes() == before
    assert backups(kube) == []


def test_a_context_of_the_same_name_written_by_someone_else_is_never_taken_over(
    kube: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = yaml.safe_load(kube.read_text())
    document["contexts"].append({"name": "projecta-dev", "context": {"cluster": "kind-kind", "user": "kind-kind"}})
    kube.write_text(yaml.safe_dump(document, sort_keys=False))
    before = kube.read_bytes()
    assert main(kubeconfig_args(kube, "--user", "alice")) == 2
    assert capsys.readouterr().err == (
        f"error: {kube}: context projecta-dev exists with user kind-kind, not one eks-access wrote; rename it "
        "(kubectl config rename-context projecta-dev <new name>) or pass --kubeconfig FILE\n"
    )
    assert kube.read_bytes() == before


def test_project_filter_and_aws_profile_auth(kube: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(kubeconfig_args(kube, "--user", "carol", "--project", "projectb", "--auth", "aws-profile")) == 0
    document = yaml.safe_load(kube.read_text())
    assert by_name(document, "users")["carol@projectb-dev"]["user"] == {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": [
                "--profile",
                "eks-access-projectb-dev",
                "--region",
                "eu-west-1",
                "eks",
                "get-token",
                "--cluster-name",
                "eks-dev",
                "--output",
                "json",
            ],
            "interactiveMode": "IfAvailable",
        }
    }
    assert capsys.readouterr().out.endswith(
        "# add to ~/.aws/config (the contexts use these profiles):\n"
        "[profile eks-access-projectb-dev]\n"
        "role_arn = arn:aws:iam::111122223333:role/projectb-dev-humans\n"
        "source_profile = default\n"
        "role_session_name = carol\n"
        "region = eu-west-1\n"
    )


# --- bad input: one line, exit code 2 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--user", "zed"], "error: IAM user 'zed' is not a member of any team in config/teams.yaml"),
        (
            ["--user", "alice", "--project", "nosuch"],
            "error: unknown project 'nosuch'; config/projects.yaml has projecta, projectb",
        ),
        (
            ["--user", "carol", "--project", "projecta"],
            "error: carol (teams: search) has no access to project projecta in environment dev",
        ),
        (
            ["--user", "alice", "--cluster", "eks-prod"],
            "error: stack dev's cluster is 'eks-dev', not 'eks-prod'; the roles are mapped in that cluster only",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    kube: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    original = kube.read_bytes()
    assert main(kubeconfig_args(kube, *extra)) == 2
    assert capsys.readouterr().err == message + "\n"
    assert kube.read_bytes() == original


def test_missing_outputs_is_one_line(
    kube: Path, fake_pulumi: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("{}\n")
    monkeypatch.setenv("FAKE_PULUMI_OUTPUTS", str(empty))
    assert main(kubeconfig_args(kube, "--user", "alice")) == 2
    assert capsys.readouterr().err == (
        "error: stack dev has no kubeconfigs output; run `pulumi up` for it, or use --cluster NAME "
        "(eks:DescribeCluster)\n"
    )


def test_outputs_of_an_older_version_are_one_line(
    kube: Path, fake_pulumi: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = json.loads(OUTPUTS.read_text())
    outputs["outputsVersion"] = 1
    older = tmp_path / "older.json"
    older.write_text(json.dumps(outputs))
    monkeypatch.setenv("FAKE_PULUMI_OUTPUTS", str(older))
    assert main(kubeconfig_args(kube, "--user", "alice")) == 2
    assert capsys.readouterr().err == (
        "error: stack dev outputs are version 1, this eks-access reads version 2 (docs/outputs.md); run `pulumi up` "
        "for it, or use --cluster NAME (eks:DescribeCluster)\n"
    )


def test_no_pulumi_cli_is_one_line(
    kube: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sources.shutil, "which", lambda name: None)
    assert main(kubeconfig_args(kube, "--user", "alice")) == 2
    assert capsys.readouterr().err == (
        "error: no pulumi CLI on PATH to read the stack outputs; install it, or use --cluster NAME (endpoint and "
        "CA from eks:DescribeCluster)\n"
    )


def test_unreadable_existing_kubeconfig_is_refused(
    kube: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kube.write_text("apiVersion: v1\nkind: Config\ncontexts:\n  kind-kind: {}\n")
    assert main(kubeconfig_args(kube, "--user", "alice")) == 2
    assert capsys.readouterr().err == f"error: {kube}: contexts must be a list\n"


# --- boto3 call shapes (Stubber) -----------------------------------------------------------------------------


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        service, region_name="eu-west-1", aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret"
    )
    return client, Stubber(client)


def test_cluster_endpoint_from_describe_cluster(
    kube: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    eks, stub = stubbed("eks")
    stub.add_response(
        "describe_cluster",
        {
            "cluster": {
                "name": "eks-dev",
                "arn": DEV_CLUSTER_ARN,
                "endpoint": REAL_ENDPOINT,
                "certificateAuthority": {"data": REAL_CA},
                "status": "ACTIVE",
            }
        },
        {"name": "eks-dev"},
    )
    monkeypatch.setattr(aws, "aws_client", lambda service, region: eks)
    with stub:
        assert main(kubeconfig_args(kube, "--user", "bob", "--cluster", "eks-dev")) == 0
    stub.assert_no_pending_responses()
    document = yaml.safe_load(kube.read_text())
    assert by_name(document, "clusters")[DEV_CLUSTER_ARN]["cluster"] == {
        "server": REAL_ENDPOINT,
        "certificate-authority-data": REAL_CA,
    }
    assert by_name(document, "users")["bob@projecta-dev"]["user"] == authenticator("projecta-dev-humans", "bob")


def test_default_user_is_the_iam_user_of_the_credentials(
    kube: Path, fake_pulumi: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sts, stub = stubbed("sts")
    stub.add_response(
        "get_caller_identity",
        {"UserId": "AIDAEXAMPLEDAVE", "Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/staff/dave"},
        {},
    )
    monkeypatch.setattr(aws, "aws_client", lambda service, region: sts)
    with stub:
        assert main(kubeconfig_args(kube)) == 0
    assert "dave@projectb-dev" in by_name(yaml.safe_load(kube.read_text()), "users")


def test_role_credentials_cannot_stand_in_for_a_user(
    kube: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sts, stub = stubbed("sts")
    arn = "arn:aws:sts::111122223333:assumed-role/projecta-dev-humans/alice"
    stub.add_response("get_caller_identity", {"UserId": "AROAEXAMPLE:alice", "Account": "111122223333", "Arn": arn}, {})
    monkeypatch.setattr(aws, "aws_client", lambda service, region: sts)
    with stub:
        assert main(kubeconfig_args(kube)) == 2
    assert capsys.readouterr().err == (
        f"error: your AWS credentials are {arn}, a session of role projecta-dev-humans, and no role in environment "
        "dev trusts it (they admit IAM users of account 111122223333 and roles.trusted_principals in "
        "config/settings.yaml); use your IAM user's credentials, or pass --user NAME\n"
    )


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["kubeconfig", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "python -m access kubeconfig --stack prod --project projecta --user alice" in text
    assert "aws-iam-authenticator token --cluster-id <cluster> --role <role ARN> --session-name" in text


def test_roles_split_by_level_get_one_context_each(
    tree: ConfigTree, kube: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def split_by_level(settings: dict[str, Any]) -> None:
        settings["naming"].update(
            {
                "role": "{project}-{env}-{level}",
                "username": "{project}:{env}:{level}:{{SessionName}}",
                "kubernetes_group": "{project}:{env}:{level}",
            }
        )

    tree.edit("settings.yaml", split_by_level)
    tree.edit("teams.yaml", lambda d: d["teams"]["search"]["members"].append("alice"))  # alice in both teams
    tree.edit("access.yaml", lambda d: d["grants"]["search"].update({"projecta": {"dev": "view"}}))
    eks, stub = stubbed("eks")
    described = {
        "name": "eks-dev",
        "arn": DEV_CLUSTER_ARN,
        "endpoint": REAL_ENDPOINT,
        "certificateAuthority": {"data": REAL_CA},
    }
    stub.add_response("describe_cluster", {"cluster": described}, {"name": "eks-dev"})
    monkeypatch.setattr(aws, "aws_client", lambda service, region: eks)
    argv = ["kubeconfig", "--stack", "dev", "--project-dir", str(tree.project()), "--kubeconfig", str(kube)]
    with stub:
        assert main([*argv, "--user", "alice", "--cluster", "eks-dev", "--project", "projecta"]) == 0
    contexts = by_name(yaml.safe_load(kube.read_text()), "contexts")
    assert contexts["projecta-dev-operate"]["context"] == {
        "cluster": DEV_CLUSTER_ARN,
        "user": "alice@projecta-dev-operate",
        "namespace": "projecta-dev",
    }
    assert contexts["projecta-dev-view"]["context"] == {
        "cluster": DEV_CLUSTER_ARN,
        "user": "alice@projecta-dev-view",
        "namespace": "projecta-dev",
    }
    users = by_name(yaml.safe_load(kube.read_text()), "users")
    assert users["alice@projecta-dev-view"]["user"] == authenticator("projecta-dev-view", "alice")


def test_unwritable_kubeconfig_is_one_line(
    tmp_path: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    assert main(kubeconfig_args(blocker / "config", "--user", "alice")) == 2
    assert capsys.readouterr().err == f"error: {blocker}: cannot write: File exists\n"


def test_dry_run_with_aws_profiles_keeps_stdout_a_kubeconfig(
    kube: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(kubeconfig_args(kube, "--user", "carol", "--auth", "aws-profile", "--dry-run")) == 0
    captured = capsys.readouterr()
    assert by_name(yaml.safe_load(captured.out), "contexts")["projectb-dev"]["context"]["namespace"] == "projectb-dev"
    assert captured.err.startswith(
        "\n# add to ~/.aws/config (the contexts use these profiles):\n[profile eks-access-projectb-dev]\n"
    )


# --- the session name is IAM's spelling; callers that are not IAM users; ExternalId and MFA -------------------------

SSO_ROLE = "AWSReservedSSO_Dev_0123456789abcdef"
SSO_ROLE_ARN = f"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/{SSO_ROLE}"
SSO_SESSION = f"arn:aws:sts::111122223333:assumed-role/{SSO_ROLE}/jo@example.com"


def caller_is(monkeypatch: pytest.MonkeyPatch, arn: str, user_id: str = "AIDAEXAMPLE") -> Stubber:
    sts, stub = stubbed("sts")
    stub.add_response("get_caller_identity", {"UserId": user_id, "Account": "111122223333", "Arn": arn}, {})
    monkeypatch.setattr(aws, "aws_client", lambda service, region: sts)
    return stub


def tree_args(tree: ConfigTree, kube: Path, *extra: str) -> list[str]:
    return ["kubeconfig", "--stack", "dev", "--project-dir", str(tree.project()), "--kubeconfig", str(kube), *extra]


def test_the_session_name_is_the_spelling_sts_returns(
    tree: ConfigTree, kube: Path, fake_pulumi: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # config says "alice"; IAM's user is "Alice": a trust pin compares the session name with ${aws:username},
    # which is IAM's spelling, so the context must pass "Alice"
    with caller_is(monkeypatch, "arn:aws:iam::111122223333:user/people/Alice"):
        assert main(tree_args(tree, kube)) == 0
    users = by_name(yaml.safe_load(kube.read_text()), "users")
    assert users["Alice@projecta-dev"]["user"] == authenticator("projecta-dev-humans", "Alice")


def sso_trust(tree: ConfigTree, **roles: Any) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update({"trusted_principals": [SSO_ROLE_ARN], **roles}))


def test_an_sso_session_gets_the_roles_that_trust_its_role(
    tree: ConfigTree, kube: Path, fake_pulumi: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sso_trust(tree, external_id="eks-access-dev-7f3a")
    with caller_is(monkeypatch, SSO_SESSION, f"AROAEXAMPLESSO:{'jo@example.com'}"):
        assert main(tree_args(tree, kube)) == 0
    document = yaml.safe_load(kube.read_text())
    contexts = by_name(document, "contexts")
    assert sorted(n for n in contexts if n.startswith(("project", "dev-"))) == [
        "dev-cluster-admin",
        "projecta-dev",
        "projectb-dev",
    ]
    user = by_name(document, "users")["jo@example.com@projecta-dev"]["user"]
    assert user["exec"]["args"] == [
        "token",
        "--cluster-id",
        "eks-dev",
        "--role",
        "arn:aws:iam::111122223333:role/projecta-dev-humans",
        "--session-name",
        "jo@example.com",  # the SSO session's own name: the audit log shows who it was
        "--external-id",
        "eks-access-dev-7f3a",  # the trusted-principals statement requires it
        "--region",
        "eu-west-1",
    ]
    # Trusted by pattern on aws:PrincipalArn: whatever suffix Identity Center gives the role next time.
    pattern = f"arn:aws:iam::111122223333:role/{SSO_ROLE.rsplit('_', 1)[0]}_{'?' * 16}"
    assert capsys.readouterr().err == "".join(
        f"note: {role} admits {SSO_SESSION}: trusted principal {pattern} (aws:PrincipalArn)\n"
        for role in ("projecta-dev-humans", "projectb-dev-humans", "dev-cluster-admins")
    )


def test_external_id_goes_into_the_aws_profile(
    tree: ConfigTree, kube: Path, fake_pulumi: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sso_trust(tree, external_id="eks-access-dev-7f3a")
    argv = tree_args(tree, kube, "--project", "projecta", "--auth", "aws-profile", "--source-profile", "sso-dev")
    with caller_is(monkeypatch, SSO_SESSION, "AROAEXAMPLESSO:jo@example.com"):
        assert main(argv) == 0
    profiles = capsys.readouterr().out.split("# add to ~/.aws/config (the contexts use these profiles):\n")[1]
    assert profiles == (
        "[profile eks-access-projecta-dev]\n"
        "role_arn = arn:aws:iam::111122223333:role/projecta-dev-humans\n"
        "source_profile = sso-dev\n"
        "role_session_name = jo@example.com\n"
        "external_id = eks-access-dev-7f3a\n"
        "region = eu-west-1\n"
    )
    assert_botocore_reads(kube.parent / "aws-config", profiles, "eks-access-projecta-dev")


def assert_botocore_reads(path: Path, profiles: str, name: str) -> dict[str, str]:
    """botocore's own config loader reads the printed profile (the AWS CLI resolves assume-role profiles with it)."""
    from botocore.configloader import load_config

    path.write_text("[profile sso-dev]\nregion = eu-west-1\n" + profiles)
    profile: dict[str, str] = load_config(str(path))["profiles"][name]
    assert {"role_arn", "source_profile", "role_session_name"} <= set(profile)
    return profile


def test_an_untrusted_role_session_is_told_what_it_can_do(
    tree: ConfigTree, kube: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sso_trust(tree)
    other = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReadOnly_fedcba9876543210/jo@example.com"
    with caller_is(monkeypatch, other, "AROAEXAMPLERO:jo@example.com"):
        assert main(tree_args(tree, kube, "--project", "projecta")) == 2
    assert capsys.readouterr().err == (
        f"error: your AWS credentials are {other}, a session of role AWSReservedSSO_ReadOnly_fedcba9876543210, and "
        "no role of project projecta in environment dev trusts it (they admit IAM users of account 111122223333 and "
        "roles.trusted_principals in config/settings.yaml); use your IAM user's credentials, or pass --user NAME\n"
    )


def test_roles_that_require_mfa_get_an_aws_profile_with_mfa_serial(
    tree: ConfigTree, kube: Path, fake_pulumi: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update({"mfa": {"required": True, "max_age_seconds": 3600}}))
    base = tree_args(tree, kube, "--user", "alice")
    original = kube.read_bytes()

    assert main(base) == 2
    assert capsys.readouterr().err == (
        "error: projecta-dev-humans require(s) MFA (aws:MultiFactorAuthPresent in the trust policy) and "
        "aws-iam-authenticator never sends an MFA code: use --auth aws-profile --mfa-serial <your MFA device ARN> "
        "(the AWS CLI asks for the code and caches the session)\n"
    )
    assert main([*base, "--auth", "aws-profile"]) == 2
    assert capsys.readouterr().err == (
        "error: projecta-dev-humans require(s) MFA: pass --mfa-serial <your MFA device ARN> so the profile asks for "
        "the code (aws iam list-mfa-devices --user-name alice shows it)\n"
    )
    assert main([*base, "--auth", "aws-profile", "--mfa-serial", "not an arn"]) == 2
    assert capsys.readouterr().err == (
        "error: --mfa-serial 'not an arn': expected an MFA device ARN like arn:aws:iam::<account>:mfa/<name>\n"
    )
    assert kube.read_bytes() == original

    mfa = "arn:aws:iam::111122223333:mfa/alice-phone"
    assert main([*base, "--auth", "aws-profile", "--mfa-serial", mfa]) == 0
    profiles = capsys.readouterr().out.split("# add to ~/.aws/config (the contexts use these profiles):\n")[1]
    assert profiles == (
        "[profile eks-access-projecta-dev]\n"
        "role_arn = arn:aws:iam::111122223333:role/projecta-dev-humans\n"
        "source_profile = default\n"
        "role_session_name = alice\n"
        f"mfa_serial = {mfa}\n"
        "region = eu-west-1\n"
    )
    user = by_name(yaml.safe_load(kube.read_text()), "users")["alice@projecta-dev"]["user"]
    assert user["exec"]["interactiveMode"] == "IfAvailable"  # the AWS CLI's MFA prompt reaches the terminal
    assert assert_botocore_reads(kube.parent / "aws-config", profiles, "eks-access-projecta-dev")["mfa_serial"] == mfa


def test_a_role_session_cannot_present_mfa(
    tree: ConfigTree, kube: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    federated = "arn:aws:iam::111122223333:role/engineers"
    tree.edit(
        "settings.yaml",
        lambda d: d["roles"].update({"trusted_principals": [federated], "mfa": {"required": True}}),
    )
    session = "arn:aws:sts::111122223333:assumed-role/engineers/jo@example.com"
    with caller_is(monkeypatch, session, "AROAEXAMPLEFED:jo@example.com"):
        assert main(tree_args(tree, kube, "--project", "projecta")) == 2
    assert capsys.readouterr().err == (
        "note: projecta-dev-humans requires MFA (aws:MultiFactorAuthPresent), which a role session cannot present "
        "to sts:AssumeRole; no context for it\n"
        "error: every role you may enter here (projecta-dev-humans) requires MFA; use your IAM user's credentials\n"
    )


def test_required_mfa_leaves_sso_sessions_their_context(
    tree: ConfigTree, kube: Path, fake_pulumi: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Identity Center sessions carry no IAM MFA context: their statement has no MFA condition, so they still enter."""
    sso_trust(tree, mfa={"required": True})
    with caller_is(monkeypatch, SSO_SESSION, "AROAEXAMPLESSO:jo@example.com"):
        assert main(tree_args(tree, kube, "--project", "projecta")) == 0
    assert "projecta-dev" in by_name(yaml.safe_load(kube.read_text()), "contexts")


def test_callers_from_sts(monkeypatch: pytest.MonkeyPatch) -> None:
    user = callers.caller_from_arn("arn:aws:iam::111122223333:user/staff/Dave")
    assert (user.kind, user.user_name, user.account_id) == ("IAM user", "Dave", "111122223333")
    session = callers.caller_from_arn(SSO_SESSION)
    assert (session.kind, session.role_arn, session.session_name) == (
        "role session",
        f"arn:aws:iam::111122223333:role/{SSO_ROLE}",
        "jo@example.com",
    )
    root = callers.caller_from_arn("arn:aws:iam::111122223333:root")
    assert (root.kind, root.user_name, root.role_arn) == ("principal", None, None)


def test_a_user_whose_roles_do_not_trust_iam_users_is_told_why(
    tree: ConfigTree, kube: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sso_trust(tree, trust_account_root=False)
    assert main(tree_args(tree, kube, "--user", "alice")) == 2
    assert capsys.readouterr().err == (
        "error: alice's teams (payments) may assume projecta-dev-humans, but their trust policies admit no IAM user "
        "of account 111122223333 (roles.trust_account_root in config/settings.yaml)\n"
    )


def test_the_account_root_is_neither_a_user_nor_a_session(
    kube: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with caller_is(monkeypatch, "arn:aws:iam::111122223333:root", "111122223333"):
        assert main(kubeconfig_args(kube)) == 2
    assert capsys.readouterr().err == (
        "error: your AWS credentials are arn:aws:iam::111122223333:root, neither an IAM user nor a role session; "
        "pass --user NAME\n"
    )


# --- an IAM Identity Center session: profiles chained from an sso-session profile -------------------------------

IC_EXAMPLE = REPO / "examples" / "identity-center"
IC_SESSION = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_eks.payments.dev_0123456789abcdef/alice@example.com"


def ic_args(kube: Path, *extra: str) -> list[str]:
    return [
        "kubeconfig",
        "--stack",
        "dev",
        "--project-dir",
        str(IC_EXAMPLE),
        "--kubeconfig",
        str(kube),
        "--from-plan",
        "--auth",
        "aws-profile",
        *extra,
    ]


def printed_profiles(out: str) -> str:
    return out.split("# add to ~/.aws/config (the contexts use these profiles):\n")[1]


def test_an_identity_center_session_gets_an_sso_session_profile_and_a_profile_per_role(
    kube: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ic_args(kube, "--sso-start-url", "https://d-0123456789.awsapps.com/start", "--sso-region", "eu-central-1")
    with caller_is(monkeypatch, IC_SESSION, "AROAEXAMPLEIC:alice@example.com"):
        assert main(argv) == 0
    out, err = capsys.readouterr()
    profiles = printed_profiles(out)
    # The AWS CLI's token-provider layout: [sso-session] signs in, the SSO profile names the account and permission
    # set, and the permission set's one role (projecta-dev-humans, Payments' only role here) chains from it.
    assert profiles == (
        "[sso-session eks-access]\n"
        "sso_start_url = https://d-0123456789.awsapps.com/start\n"
        "sso_region = eu-central-1\n"
        "sso_registration_scopes = sso:account:access\n"
        "\n"
        "[profile eks-access-sso-payments-dev]\n"
        "sso_session = eks-access\n"
        "sso_account_id = 222222222222\n"
        "sso_role_name = eks.payments.dev\n"
        "region = eu-west-1\n"
        "\n"
        "[profile eks-access-projecta-dev-offline]\n"
        "role_arn = arn:aws:iam::222222222222:role/projecta-dev-humans\n"
        "source_profile = eks-access-sso-payments-dev\n"
        "role_session_name = alice@example.com\n"
        "region = eu-west-1\n"
    )
    assert "note: sign in with: aws sso login --profile eks-access-sso-payments-dev\n" in err
    users = by_name(yaml.safe_load(kube.read_text()), "users")
    assert users["alice@example.com@projecta-dev-offline"]["user"]["exec"]["args"][:2] == [
        "--profile",
        "eks-access-projecta-dev-offline",
    ]
    # botocore reads it as the AWS CLI will: the sso-session section, the SSO profile, the chained role profile.
    from botocore.configloader import load_config

    path = kube.parent / "aws-config"
    path.write_text(profiles)
    loaded = load_config(str(path))
    assert loaded["sso_sessions"]["eks-access"] == {
        "sso_start_url": "https://d-0123456789.awsapps.com/start",
        "sso_region": "eu-central-1",
        "sso_registration_scopes": "sso:account:access",
    }
    assert loaded["profiles"]["eks-access-sso-payments-dev"]["sso_session"] == "eks-access"
    assert loaded["profiles"]["eks-access-projecta-dev-offline"]["source_profile"] == "eks-access-sso-payments-dev"


def test_the_platform_session_gets_the_admin_context_only(
    kube: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    session = IC_SESSION.replace("eks.payments.dev", "eks.platform.dev").replace("alice", "pat")
    with caller_is(monkeypatch, session, "AROAEXAMPLEIC:pat@example.com"):
        assert main(ic_args(kube, "--sso-session", "corp")) == 0
    out, err = capsys.readouterr()
    assert printed_profiles(out) == (
        "[profile eks-access-sso-platform-dev]\n"
        "sso_session = corp\n"
        "sso_account_id = 222222222222\n"
        "sso_role_name = eks.platform.dev\n"
        "region = eu-west-1\n"
        "\n"
        "[profile eks-access-dev-cluster-admin-offline]\n"
        "role_arn = arn:aws:iam::222222222222:role/dev-cluster-admins\n"
        "source_profile = eks-access-sso-platform-dev\n"
        "role_session_name = pat@example.com\n"
        "region = eu-west-1\n"
    )
    # Without the start URL the [sso-session] section is the user's own: said, with the ways to get it.
    assert (
        "note: profile eks-access-sso-platform-dev signs in with [sso-session corp]: create it with `aws configure "
        "sso-session` (name corp), or pass --sso-start-url and --sso-region to have it printed, or --source-profile "
        "<your SSO profile>; then `aws sso login --profile eks-access-sso-platform-dev`\n"
    ) in err


def test_an_existing_sso_profile_is_the_source_profile(
    kube: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with caller_is(monkeypatch, IC_SESSION, "AROAEXAMPLEIC:alice@example.com"):
        assert main(ic_args(kube, "--source-profile", "my-sso")) == 0
    assert printed_profiles(capsys.readouterr().out) == (
        "[profile eks-access-projecta-dev-offline]\n"
        "role_arn = arn:aws:iam::222222222222:role/projecta-dev-humans\n"
        "source_profile = my-sso\n"
        "role_session_name = alice@example.com\n"
        "region = eu-west-1\n"
    )


@pytest.mark.parametrize(
    ("extra", "caller", "message"),
    [
        (
            ["--sso-start-url", "https://d-0123456789.awsapps.com/start"],
            IC_SESSION,
            "--sso-start-url and --sso-region go together: the [sso-session] section needs both",
        ),
        (
            ["--sso-start-url", "http://portal", "--sso-region", "eu-west-1"],
            IC_SESSION,
            "--sso-start-url 'http://portal': expected your AWS access portal URL, like "
            "https://d-0123456789.awsapps.com/start",
        ),
        (
            [
                "--sso-start-url",
                "https://d-0123456789.awsapps.com/start",
                "--sso-region",
                "eu-west-1",
                "--source-profile",
                "x",
            ],
            IC_SESSION,
            "--source-profile names your own SSO profile; --sso-start-url generates one: pass one",
        ),
        (
            ["--sso-start-url", "https://d-0123456789.awsapps.com/start", "--sso-region", "eu-west-1"],
            "arn:aws:sts::222222222222:assumed-role/engineers/jo",
            "--sso-start-url: your AWS credentials are arn:aws:sts::222222222222:assumed-role/engineers/jo, not an IAM "
            "Identity Center session (assumed-role/AWSReservedSSO_<permission set>_<suffix>/<you>)",
        ),
    ],
)
def test_sso_profile_options_are_checked(
    kube: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    caller: str,
    message: str,
) -> None:
    with caller_is(monkeypatch, caller, "AROAEXAMPLEIC:x"):
        assert main(ic_args(kube, *extra)) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not kube.exists() or "eks-access" not in kube.read_text()


def test_callers_name_their_permission_set() -> None:
    assert callers.caller_from_arn(IC_SESSION).permission_set == "eks.payments.dev"
    assert callers.caller_from_arn(SSO_SESSION).permission_set == "Dev"
    assert callers.caller_from_arn("arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_x/jo").permission_set is None
    assert (
        callers.caller_from_arn("arn:aws:iam::222222222222:user/AWSReservedSSO_a_0123456789abcdef").permission_set
        is None
    )
