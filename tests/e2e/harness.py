"""The end-to-end harness: the real `pulumi` CLI, on a local file backend, against a real kube-apiserver and moto.

It drives eks-access only through its command line (``python -m access plan --stack S --format json`` and
``pulumi``) and reads ``Pulumi.<stack>.yaml`` and ``config/`` as data: nothing here imports the ``access`` package.

Layout of one run (under the cache, removed at the end unless E2E_KEEP=1):

    runs/<id>/bin/aws                      the `aws eks get-token` stand-in (client certificate ExecCredential)
    runs/<id>/plugins/{aws,python}/        the moto-backed aws provider plugin and the language host stand-in
    runs/<id>/<scenario>/project/          a copy of the git-tracked project files, .venv linked
    runs/<id>/<scenario>/pulumi-home/      PULUMI_HOME (credentials for the file:// login, plugin cache)
    runs/<id>/<scenario>/backend/          the file backend
    runs/<id>/<scenario>/cluster/          etcd data, PKI, logs
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import urllib3
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "e2e"))

import servers  # noqa: E402

ACCOUNT = "111122223333"
REGION = "eu-west-1"
PASSPHRASE = "e2e-throwaway-passphrase"
DEV_CLUSTER = "eks-dev"
PYTHON = Path(os.environ.get("E2E_PYTHON", ROOT / ".venv" / "bin" / "python"))


# ----------------------------------------------------------------------------------------------------------------
# The plan's effective-access matrix, read in ONE place: the evaluator work will rename/extend it.
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccessRow:
    principal: str  # IAM user name; a machine's ARN, service, OIDC subject or ServiceAccount
    role: str  # IAM role name the principal assumes
    username: str  # Kubernetes username, "<session>" where the role session name goes
    groups: tuple[str, ...]
    namespace: str  # "*" for cluster-wide
    level: str
    rules: tuple[tuple[str, str, str], ...]  # (apiGroup, resource, verb), expanded
    via: str = ""  # mapRoles | mapUsers | access entry | service account token


def effective_access(plan: Mapping[str, Any]) -> list[AccessRow]:
    """The rows of ``python -m access plan --format json`` ``access`` (docs/plan-json.md)."""
    rows = []
    for row in plan["access"]:
        triples = sorted(
            {
                (group, resource, verb)
                for rule in row["rules"]
                for group in rule.get("apiGroups", [""])
                for resource in rule.get("resources", [])
                for verb in rule.get("verbs", [])
            }
        )
        rows.append(
            AccessRow(
                principal=row["principal"],
                role=row["role"],
                username=row["username"],
                groups=tuple(row["groups"]),
                namespace=row["namespace"],
                level=row["level"],
                rules=tuple(triples),
                via=row.get("via", ""),
            )
        )
    return rows


SESSION_PLACEHOLDER = "<session>"


def session_name(row: AccessRow) -> str:
    """The role session name the principal signs with: people use their IAM user name (the trust policy pins it)."""
    if SESSION_PLACEHOLDER not in row.username:
        return row.principal
    # Machines sign with any session name: a valid one (2-64 of [\w+=,.@-]) derived from the principal.
    return (re.sub(r"[^\w+=,.@-]", "-", row.principal.split(" ")[0])[-56:] + "-e2e").lstrip("-")


def expected_username(row: AccessRow) -> str:
    return row.username.replace(SESSION_PLACEHOLDER, session_name(row))


# ----------------------------------------------------------------------------------------------------------------
@dataclass
class Result:
    argv: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return (
            f"$ {' '.join(self.argv)}\n(exit {self.code})\n--- stdout\n{self.stdout[-6000:]}\n"
            f"--- stderr\n{self.stderr[-6000:]}"
        )


def read_bins(path: Path) -> dict[str, Path]:
    """`component dir` lines printed by tools/e2e/build."""
    dirs = dict(line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
    return {k: Path(v.strip()) for k, v in dirs.items()}


class Run:
    """What one `make e2e` shares: the built components, moto, the plugin wrappers."""

    def __init__(self, bins: dict[str, Path], workdir: Path, moto: servers.Moto) -> None:
        self.bins = bins
        self.dir = workdir
        self.moto = moto
        self.bindir = workdir / "bin"
        self.plugins = workdir / "plugins"
        self._wrappers()

    def _wrappers(self) -> None:
        self.bindir.mkdir(parents=True, exist_ok=True)
        aws = self.plugins / "aws"
        aws.mkdir(parents=True, exist_ok=True)
        _script(aws / "pulumi-resource-aws", f'exec "{PYTHON}" "{ROOT}/tools/e2e/aws_provider.py" "$@"\n')
        lang = self.plugins / "python"
        lang.mkdir(parents=True, exist_ok=True)
        exec_script = self.bins["langhost"] / "bin" / "pulumi-language-python-exec"
        _script(
            lang / "pulumi-language-python",
            f'export E2E_LANGHOST_EXEC="{exec_script}"\nexec "{PYTHON}" "{ROOT}/tools/e2e/langhost.py" "$@"\n',
        )
        # `aws eks get-token`, as the kubeconfig eks-access builds calls it: an ExecCredential with the deployer's
        # client certificate (client.authentication.k8s.io/v1beta1 allows clientCertificateData/clientKeyData).
        _script(self.bindir / "aws", f'exec "{PYTHON}" "{ROOT}/tools/e2e/aws_get_token.py" "$@"\n')
        # kubectl from the same k8s.io/kubernetes build, for debugging (E2E_KEEP=1) and `auth can-i`
        kubectl = self.bins["kubernetes"] / "bin" / "kubectl"
        if not (self.bindir / "kubectl").exists():
            (self.bindir / "kubectl").symlink_to(kubectl)

    @property
    def versions(self) -> dict[str, str]:
        return {
            name: (d / "SOURCE").read_text().strip() if (d / "SOURCE").exists() else str(d)
            for name, d in sorted(self.bins.items())
        }


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def sdk_version(dist: str) -> str:
    out = subprocess.run(
        [str(PYTHON), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


class Scenario:
    """One scenario: its own cluster (fresh etcd + kube-apiserver), moto reset, a project copy, a file backend."""

    def __init__(self, run: Run, name: str, cluster: servers.Cluster, workdir: Path, stack: str = "dev") -> None:
        self.run = run
        self.name = name
        self.cluster = cluster
        self.dir = workdir
        self.stack = stack
        self.project = workdir / "project"
        self.home = workdir / "pulumi-home"
        self.backend = workdir / "backend"
        self.kube = cluster.session("admin")
        self.kubeconfig = cluster.kubeconfig(workdir / "admin.kubeconfig")
        self.aws_calls = workdir / "aws-calls.log"
        self._copy_project()
        self.env = self._env()
        self.iam = boto3.client(
            "iam",
            endpoint_url=run.moto.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.eks = boto3.client(
            "eks",
            endpoint_url=run.moto.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    # --- setup ---------------------------------------------------------------------------------------------------
    def _policy_venv(self) -> None:
        """The policy pack's virtualenv as `pip install -r policy/requirements.txt` makes it: the cached third-party
        packages, and this copy's own eks-access package (a .pth file adds both; no copy goes stale)."""
        venv = self.project / "policy" / "venv"
        subprocess.run(["python3", "-m", "venv", "--without-pip", str(venv)], check=True)
        site = next(venv.glob("lib/python3*/site-packages"))
        cached = next((self.run.bins["policy-venv"] / "venv").glob("lib/python3*/site-packages"))
        (site / "eks_access.pth").write_text(f"{cached}\n{self.project}\n")

    def _copy_project(self) -> None:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        for rel in files.decode().split("\0"):
            if not rel or rel.startswith(("tests/", "tools/", "bench/", ".github/")):
                continue
            src, dst = ROOT / rel, self.project / rel
            if src.is_file():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        (self.project / ".venv").symlink_to(ROOT / ".venv")
        self._policy_venv()
        project = yaml.safe_load((self.project / "Pulumi.yaml").read_text())
        project["plugins"] = {
            "providers": [
                {"name": "aws", "path": str(self.run.plugins / "aws")},
                {"name": "kubernetes", "path": str(self.run.bins["kubernetes-provider"] / "bin")},
            ],
            "languages": [{"name": "python", "path": str(self.run.plugins / "python")}],
        }
        (self.project / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))

    def _env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TERM", "TMPDIR", "USER")}
        pki = self.cluster.pki
        return {
            **keep,
            "PATH": f"{self.run.bindir}:{self.run.bins['pulumi'] / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "PULUMI_HOME": str(self.home),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "PULUMI_SKIP_CHECKPOINTS": "false",
            "PULUMI_COPILOT": "false",
            "NO_COLOR": "1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # moto's
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.run.moto.endpoint,
            "E2E_KUBE_ENDPOINT": self.cluster.endpoint,
            "E2E_KUBE_CA_DATA": self.cluster.ca_data,
            "E2E_CLIENT_CERT": str(pki / "deployer.crt"),
            "E2E_CLIENT_KEY": str(pki / "deployer.key"),
            "E2E_AWS_CALLS": str(self.aws_calls),
            "E2E_AWS_PROVIDER_VERSION": sdk_version("pulumi_aws"),
            "E2E_LANGHOST_VERSION": sdk_version("pulumi"),
        }

    def seed_aws(self, users: list[str], cluster_name: str = DEV_CLUSTER, auth_mode: str = "CONFIG_MAP") -> None:
        """What exists before eks-access runs: the people's IAM users, the trusted roles, the EKS cluster."""
        self.run.moto.reset()
        for user in users:
            self.iam.create_user(UserName=user)
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}
                ],
            }
        )
        for role in ("prometheus", "jenkins", "eks-dev-nodes", "eks-dev-fargate-pods", "eks-cluster"):
            self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
        self.eks.create_cluster(
            name=cluster_name,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks-cluster",
            resourcesVpcConfig={"subnetIds": []},
            tags={"e2e/authenticationMode": auth_mode},
        )

    def write_stack_file(self, settings: Mapping[str, Any]) -> None:
        """Pulumi.<stack>.yaml for the test cluster (the stack's selectors)."""
        path = self.project / f"Pulumi.{self.stack}.yaml"
        current = yaml.safe_load(path.read_text()) or {}
        current["config"] = {**current.get("config", {}), **settings}
        path.write_text(yaml.safe_dump(current, sort_keys=False))

    def config(self, name: str) -> dict[str, Any]:
        return yaml.safe_load((self.project / "config" / name).read_text())

    def write_config(self, name: str, data: Any) -> None:
        (self.project / "config" / name).write_text(yaml.safe_dump(data, sort_keys=False))

    # --- commands ------------------------------------------------------------------------------------------------
    def sh(
        self, argv: list[str], timeout: float = 900, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> Result:
        log = self.dir / "commands.log"
        started = time.monotonic()
        # Its own process group; interrupted (SIGTERM, timeout), it gets SIGINT first so that the pulumi CLI
        # cancels and stops its plugins itself, then SIGKILL.
        proc = subprocess.Popen(
            argv,
            cwd=cwd or self.project,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
            raise
        result = Result(argv, proc.returncode, stdout, stderr)
        with log.open("a") as f:
            f.write(f"{result}\n({time.monotonic() - started:.1f}s)\n\n")
        return result

    def pulumi(self, *args: str, timeout: float = 900) -> Result:
        return self.sh(["pulumi", *args, "--non-interactive"], timeout=timeout)

    def login_and_init(self) -> None:
        self.backend.mkdir(parents=True, exist_ok=True)
        for argv in (("login", f"file://{self.backend}"), ("stack", "init", self.stack)):
            r = self.pulumi(*argv)
            assert r.code == 0, str(r)

    def up(self, *extra: str) -> Result:
        return self.pulumi("up", "--yes", "--skip-preview", "-s", self.stack, *extra)

    def preview(self, *extra: str) -> Result:
        return self.pulumi("preview", "-s", self.stack, *extra)

    def plan(self) -> dict[str, Any]:
        r = self.sh([str(PYTHON), "-m", "access", "plan", "--stack", self.stack, "--format", "json"])
        assert r.code == 0, str(r)
        return json.loads(r.stdout)

    def export(self) -> dict[str, Any]:
        r = self.pulumi("stack", "export", "-s", self.stack)
        assert r.code == 0, str(r)
        return json.loads(r.stdout)

    def outputs(self) -> dict[str, Any]:
        r = self.pulumi("stack", "output", "-s", self.stack, "--json", "--show-secrets")
        assert r.code == 0, str(r)
        return json.loads(r.stdout)

    def resources(self) -> list[dict[str, Any]]:
        return self.export()["deployment"].get("resources", [])

    # --- the cluster -------------------------------------------------------------------------------------------
    def get(self, path: str) -> dict[str, Any] | None:
        r = self.kube.get(f"{self.cluster.endpoint}{path}", timeout=30)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()

    def names(self, path: str) -> set[str]:
        return {item["metadata"]["name"] for item in (self.get(path) or {}).get("items", [])}

    def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        r = self.kube.post(f"{self.cluster.endpoint}{path}", json=body, timeout=30)
        assert r.ok, r.text
        return r.json()

    def aws_auth(self) -> dict[str, Any] | None:
        return self.get("/api/v1/namespaces/kube-system/configmaps/aws-auth")

    def map_identities(self, arns: list[str]) -> dict[str, Any]:
        """aws-iam-authenticator's configmap mapper on the LIVE aws-auth (tools/e2e/go/aws-auth-mapper)."""
        mapper = self.run.bins["aws-auth-mapper"] / "bin" / "aws-auth-mapper"
        proc = subprocess.run(
            [str(mapper), "--kubeconfig", str(self.kubeconfig)],
            input=json.dumps(arns),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def rules_review(self, username: str, groups: tuple[str, ...], namespace: str) -> dict[str, Any]:
        """SelfSubjectRulesReview impersonating the identity: what `kubectl auth can-i --list --as … -n …` asks.

        urllib3 directly: Impersonate-Group must be sent once per group (requests would merge the headers).
        """
        headers = urllib3.HTTPHeaderDict()
        headers.add("Impersonate-User", username)
        for g in groups:
            headers.add("Impersonate-Group", g)
        headers.add("Content-Type", "application/json")
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": namespace},
        }
        pki = self.cluster.pki
        pool = urllib3.PoolManager(
            ca_certs=str(pki / "ca.crt"), cert_file=str(pki / "admin.crt"), key_file=str(pki / "admin.key")
        )
        r = pool.request(
            "POST",
            f"{self.cluster.endpoint}/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            body=json.dumps(body).encode(),
            headers=headers,
            timeout=30,
        )
        assert r.status == 201, r.data
        return json.loads(r.data)["status"]

    def can_i_list(self, username: str, groups: tuple[str, ...], namespace: str) -> Result:
        """`kubectl auth can-i --list` as the identity (kept in the scenario's commands.log)."""
        argv = [
            "kubectl",
            "--kubeconfig",
            str(self.kubeconfig),
            "auth",
            "can-i",
            "--list",
            "-n",
            namespace,
            "--as",
            username,
            *[f"--as-group={g}" for g in groups],
        ]
        return self.sh(argv)

    def can(
        self, username: str, groups: tuple[str, ...], namespace: str | None, group: str, resource: str, verb: str
    ) -> bool:
        """SubjectAccessReview: the real authorizer's answer for one permission (``resource[name]`` for one object,
        as the plan's matrix writes a rule limited by resourceNames)."""
        name = ""
        if resource.endswith("]") and "[" in resource:
            resource, name = resource[:-1].split("[", 1)
        subresource = ""
        if "/" in resource:
            resource, subresource = resource.split("/", 1)
        attrs: dict[str, Any] = {"group": group, "resource": resource, "verb": verb}
        if name:
            attrs["name"] = name
        if subresource:
            attrs["subresource"] = subresource
        if namespace:
            attrs["namespace"] = namespace
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": username, "groups": list(groups), "resourceAttributes": attrs},
        }
        r = self.kube.post(
            f"{self.cluster.endpoint}/apis/authorization.k8s.io/v1/subjectaccessreviews", json=body, timeout=30
        )
        assert r.ok, r.text
        return bool(r.json()["status"].get("allowed"))


def walk_resources(state: list[dict[str, Any]], type_: str) -> Iterator[dict[str, Any]]:
    return (r for r in state if r.get("type") == type_)
