"""Start and stop what the end-to-end scenarios run against, all on 127.0.0.1 with random free ports:

- etcd (built from go.etcd.io/etcd/server/v3), kube-apiserver and kube-controller-manager (its garbage collector and
  namespace controller only; built from k8s.io/kubernetes), with a CA, a
  serving certificate for 127.0.0.1, and client certificates (an admin in ``system:masters``, the deployer the
  Pulumi Kubernetes provider authenticates as);
- moto's server (IAM, STS, EKS), answering as account 111122223333 (MOTO_ACCOUNT_ID).

Every process is started in its own process group and stopped (SIGTERM, then SIGKILL) when the context exits, also
on failure. Nothing here imports the eks-access package.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # only the controller manager's health check

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> None:
    """CA, API server serving cert, service-account key pair, and client certs admin/deployer/viewer."""
    d.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=e2e-ca",
        cwd=d,
    )
    (d / "serving.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "serving.key",
        "-out",
        "serving.csr",
        "-subj",
        "/CN=kube-apiserver",
        cwd=d,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "serving.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "serving.crt",
        "-days",
        "2",
        "-extfile",
        "serving.ext",
        cwd=d,
    )
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject in {
        "admin": "/O=system:masters/CN=e2e-admin",
        # What the Pulumi Kubernetes provider authenticates as (through the `aws eks get-token` stand-in): on EKS
        # the cluster creator / deploy role, an admin.
        "deployer": "/O=system:masters/CN=eks-access-deployer",
    }.items():
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            subject,
            cwd=d,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "2",
            "-extfile",
            "client.ext",
            cwd=d,
        )


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def start(name: str, argv: list[str], logdir: Path, env: dict[str, str] | None = None) -> Proc:
    log = logdir / f"{name}.log"
    out = log.open("wb")
    popen = subprocess.Popen(
        argv,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    out.close()
    # tools/e2e/run kills what is listed here if the tests themselves could not (killed, crashed)
    pidfile = os.environ.get("E2E_PIDFILE")
    if pidfile:
        with open(pidfile, "a") as f:
            f.write(f"{popen.pid}\n")
    return Proc(name, popen, log)


def wait_for(what: str, probe, proc: Proc, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.popen.returncode}:\n{proc.tail()}")
        try:
            if probe():
                return
        except Exception as error:
            last = error
        time.sleep(0.25)
    raise RuntimeError(f"{what} not ready after {timeout}s ({last}):\n{proc.tail()}")


@dataclass
class Cluster:
    """A running etcd + kube-apiserver."""

    endpoint: str
    pki: Path
    procs: list[Proc] = field(default_factory=list)

    @property
    def ca_data(self) -> str:
        return base64.b64encode((self.pki / "ca.crt").read_bytes()).decode()

    def session(self, who: str = "admin") -> requests.Session:
        s = requests.Session()
        s.trust_env = False  # REQUESTS_CA_BUNDLE etc. would replace our CA
        s.verify = str(self.pki / "ca.crt")
        s.cert = (str(self.pki / f"{who}.crt"), str(self.pki / f"{who}.key"))
        return s

    def kubeconfig(self, path: Path, who: str = "admin") -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "e2e",
            "clusters": [
                {"name": "e2e", "cluster": {"server": self.endpoint, "certificate-authority": str(self.pki / "ca.crt")}}
            ],
            "users": [
                {
                    "name": who,
                    "user": {
                        "client-certificate": str(self.pki / f"{who}.crt"),
                        "client-key": str(self.pki / f"{who}.key"),
                    },
                }
            ],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": who}}],
        }
        path.write_text(json.dumps(config, indent=1))
        return path


@contextlib.contextmanager
def cluster(bins: dict[str, Path], workdir: Path) -> Iterator[Cluster]:
    """etcd and kube-apiserver on loopback; yields when /readyz answers ok."""
    workdir.mkdir(parents=True, exist_ok=True)
    pki = workdir / "pki"
    make_pki(pki)
    etcd_client, etcd_peer, api_port = free_port(), free_port(), free_port()
    procs: list[Proc] = []
    try:
        etcd = start(
            "etcd",
            [
                str(bins["etcd"]),
                "--data-dir",
                str(workdir / "etcd"),
                "--name",
                "e2e",
                "--listen-client-urls",
                f"http://{LOOPBACK}:{etcd_client}",
                "--advertise-client-urls",
                f"http://{LOOPBACK}:{etcd_client}",
                "--listen-peer-urls",
                f"http://{LOOPBACK}:{etcd_peer}",
                "--initial-advertise-peer-urls",
                f"http://{LOOPBACK}:{etcd_peer}",
                "--initial-cluster",
                f"e2e=http://{LOOPBACK}:{etcd_peer}",
                "--unsafe-no-fsync",
                "--quota-backend-bytes",
                str(1 << 30),
                "--log-level",
                "warn",
            ],
            workdir,
        )
        procs.append(etcd)
        wait_for("etcd", lambda: requests.get(f"http://{LOOPBACK}:{etcd_client}/health", timeout=2).ok, etcd)
        api = start(
            "kube-apiserver",
            [
                str(bins["kube-apiserver"]),
                "--etcd-servers",
                f"http://{LOOPBACK}:{etcd_client}",
                "--bind-address",
                LOOPBACK,
                "--advertise-address",
                LOOPBACK,
                "--secure-port",
                str(api_port),
                "--tls-cert-file",
                str(pki / "serving.crt"),
                "--tls-private-key-file",
                str(pki / "serving.key"),
                "--client-ca-file",
                str(pki / "ca.crt"),
                "--service-account-issuer",
                "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file",
                str(pki / "sa.pub"),
                "--service-account-signing-key-file",
                str(pki / "sa.key"),
                "--service-cluster-ip-range",
                "10.0.0.0/24",
                "--authorization-mode",
                "RBAC",
                "--anonymous-auth=false",
                "--disable-admission-plugins",
                "ServiceAccount",
                "--endpoint-reconciler-type",
                "none",
                "--profiling=false",
                "--cert-dir",
                str(workdir / "certs"),
                "-v",
                "1",
            ],
            workdir,
        )
        procs.append(api)
        c = Cluster(f"https://{LOOPBACK}:{api_port}", pki, procs)
        admin = c.session("admin")
        wait_for("kube-apiserver", lambda: admin.get(f"{c.endpoint}/readyz", timeout=5).text == "ok", api, 120)
        # The bootstrap RBAC (cluster-admin, admin, view, edit ClusterRoles) is written by a post-start hook.
        wait_for(
            "bootstrap RBAC",
            lambda: admin.get(f"{c.endpoint}/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", timeout=5).ok,
            api,
            60,
        )
        wait_for(
            "kube-system namespace",
            lambda: admin.get(f"{c.endpoint}/api/v1/namespaces/kube-system", timeout=5).ok,
            api,
            60,
        )
        # The garbage collector (and the namespace controller) of kube-controller-manager: the Kubernetes provider
        # deletes with propagationPolicy Foreground, whose finalizer only the garbage collector removes.
        kcm_port = free_port()
        kcm = start(
            "kube-controller-manager",
            [
                str(bins["kube-controller-manager"]),
                "--kubeconfig",
                str(c.kubeconfig(workdir / "controller-manager.kubeconfig", "admin")),
                "--controllers",
                "garbagecollector,namespace",
                "--leader-elect=false",
                "--bind-address",
                LOOPBACK,
                "--secure-port",
                str(kcm_port),
                "--authentication-skip-lookup",
                "--authorization-always-allow-paths=/healthz,/readyz",
                "--cert-dir",
                str(workdir / "kcm-certs"),
                "-v",
                "1",
            ],
            workdir,
        )
        procs.append(kcm)
        health = requests.Session()
        health.trust_env = False
        wait_for(
            "kube-controller-manager",
            lambda: health.get(f"https://{LOOPBACK}:{kcm_port}/healthz", verify=False, timeout=5).text == "ok",
            kcm,
            60,
        )
        yield c
    finally:
        for p in reversed(procs):
            p.stop()


@dataclass
class Moto:
    endpoint: str
    proc: Proc

    def reset(self) -> None:
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()


@contextlib.contextmanager
def moto(moto_server: Path, workdir: Path, account_id: str) -> Iterator[Moto]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = start("moto", [str(moto_server), "-H", LOOPBACK, "-p", str(port)], workdir, {"MOTO_ACCOUNT_ID": account_id})
    try:
        m = Moto(f"http://{LOOPBACK}:{port}", proc)
        wait_for("moto", lambda: requests.get(f"{m.endpoint}/moto-api/", timeout=2).status_code < 500, proc, 60)
        yield m
    finally:
        proc.stop()
