"""Stand-in for `aws eks get-token`, which the kubeconfig eks-access builds runs for the Kubernetes provider.

The real command signs an STS request as a token for aws-iam-authenticator; the test API server has no
authenticator webhook, so this prints an ExecCredential carrying the deployer's client certificate instead
(client.authentication.k8s.io/v1beta1 allows clientCertificateData/clientKeyData). Every call is appended to
E2E_AWS_CALLS so the scenarios can check the exec arguments the program wrote (cluster name, region, role).
Any other `aws` command fails: nothing else should be calling the AWS CLI.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    with Path(os.environ["E2E_AWS_CALLS"]).open("a") as log:
        log.write(json.dumps(argv) + "\n")
    words = [a for a in argv if not a.startswith("-")]
    if "eks" not in words or "get-token" not in words or "--cluster-name" not in argv:
        print(f"aws (e2e stand-in): only `aws eks get-token --cluster-name …` is served, not: {argv}", file=sys.stderr)
        return 2
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {
            "clientCertificateData": Path(os.environ["E2E_CLIENT_CERT"]).read_text(),
            "clientKeyData": Path(os.environ["E2E_CLIENT_KEY"]).read_text(),
        },
    }
    print(json.dumps(credential))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
