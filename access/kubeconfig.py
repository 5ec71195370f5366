"""kubeconfig documents that authenticate with ``aws eks get-token`` (no token is ever stored)."""

from __future__ import annotations

import json


def exec_user(cluster_name: str, region: str | None, role_arn: str | None, session_name: str | None = None) -> dict:
    args = ["--region", region] if region else []
    args += ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"]
    if role_arn:
        args += ["--role-arn", role_arn]
    if session_name:
        # The trust policies require the session name to be the caller's IAM user name.
        args += ["--role-session-name", session_name]
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": args,
            "interactiveMode": "Never",
        }
    }


def exec_kubeconfig(endpoint: str, ca_data: str, cluster_name: str, region: str | None, role_arn: str | None) -> str:
    """A single-context kubeconfig for the Pulumi Kubernetes provider."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": cluster_name,
            "preferences": {},
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "users": [{"name": cluster_name, "user": exec_user(cluster_name, region, role_arn)}],
        },
        sort_keys=True,
    )
