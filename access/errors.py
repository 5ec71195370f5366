"""Every error a user sees. Each renders as one line; the CLI prints it after ``error:`` and exits with code 2.

- :class:`ConfigError`: bad config or stack file, located by file and key path.
- :class:`UsageError`: a bad command-line argument or input file of a tool.
- :class:`AwsAuthError`: a refusal to write kube-system/aws-auth (an unknown live entry, another owner, ...).
- :class:`KubeconfigError`: an existing kubeconfig eks-access will not rewrite.
- :class:`PreviewError`: input that is not ``pulumi preview --json`` output.

Both entry points (``python -m access`` and the Pulumi program) render errors with :func:`user_message`, so a
refusal reads the same under either, and anything unexpected is still one line saying where to report it.
"""

from __future__ import annotations

ISSUES_HINT = "this is a bug in eks-access: please report it with the command you ran"


class ConfigError(Exception):
    """Bad input. Rendered as one line: ``<file>: <key path>: <what is wrong and how to fix it>``."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = file
        self.path = path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        location = f"{self.file}: {self.path}" if self.path else self.file
        # Values from the input may hold line breaks or control characters; the line stays one line anyway.
        return escape_controls(f"{location}: {self.message}")


class UsageError(Exception):
    """A bad command-line argument or input file: one line, exit code 2."""


class AwsAuthError(Exception):
    """A refusal to write aws-auth; the message is one line saying what and how to fix it."""


class KubeconfigError(Exception):
    """An existing kubeconfig this tool will not rewrite (it would lose or corrupt something)."""


class PreviewError(Exception):
    """The input is not ``pulumi preview --json`` output."""


USER_ERRORS = (ConfigError, UsageError, AwsAuthError, KubeconfigError, PreviewError)


def escape_controls(text: str) -> str:
    """``text`` with every non-printable character (line breaks, tabs, NUL, zero-width and bidi marks) written as
    its Python escape, so it is one line and shows what is really there."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def one_line(text: str) -> str:
    """Prose that spans lines (another tool's message) joined with spaces; any other control character escaped."""
    if "\n" in text or "\r" in text:
        text = " ".join(text.split())
    return escape_controls(text)


def user_message(error: BaseException) -> str:
    """The one line a user sees for ``error``: the project's own message as it is, anything else as a bug report."""
    if isinstance(error, USER_ERRORS):
        return one_line(str(error))
    if isinstance(error, RecursionError):
        return f"input nested too deeply to read; {ISSUES_HINT} if it is not"
    detail = one_line(str(error))
    return f"unexpected {type(error).__name__}{': ' + detail if detail else ''}; {ISSUES_HINT}"
