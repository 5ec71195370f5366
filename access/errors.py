"""Every error a user sees. Each renders as one line; the CLI prints it after ``error:`` and exits with code 2.

- :class:`ConfigError`: bad config or stack file, located by file and key path.
- :class:`UsageError`: a bad command-line argument or input file of a tool.
- :class:`AwsAuthError`: a refusal to write kube-system/aws-auth (an unknown live entry, another owner, ...).
- :class:`KubeconfigError`: an existing kubeconfig eks-access will not rewrite.
- :class:`PreviewError`: input that is not ``pulumi preview --json`` output.
"""

from __future__ import annotations


class ConfigError(Exception):
    """Bad input. Rendered as one line: ``<file>: <key path>: <what is wrong and how to fix it>``."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = file
        self.path = path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        location = f"{self.file}: {self.path}" if self.path else self.file
        return f"{location}: {self.message}"


class UsageError(Exception):
    """A bad command-line argument or input file: one line, exit code 2."""


class AwsAuthError(Exception):
    """A refusal to write aws-auth; the message is one line saying what and how to fix it."""


class KubeconfigError(Exception):
    """An existing kubeconfig this tool will not rewrite (it would lose or corrupt something)."""


class PreviewError(Exception):
    """The input is not ``pulumi preview --json`` output."""
