"""How the Pulumi program fails: always with exactly one line.

The Python language host prints a :class:`pulumi.RunError` as an error line and then exits with code 1, for which
the CLI adds a second line ("an unhandled error occurred: program exited with non-zero exit code: 1"); anything
else gets "Program failed with an unhandled exception" and a traceback (``pulumi-language-python-exec``). Exit code
32 is the language host's own "the program already showed the user an actionable message": the Go host then bails
without adding anything (``pulumi-language-python/main.go``, ``pythonProcessExitedAfterShowingUserActionableMessage``;
the language host itself logs and exits 32 this way for a missing ``__main__.py``). So under the real engine
:func:`stop` logs the one line (``pulumi.log.error`` without a resource is sent synchronously) and exits 32; in
process, under the mock runtime (tests, ``python -m access plan``), it raises the RunError those callers read.

The entry point and every ``apply`` that can fail stop this way, worded as ``python -m access`` words it
(:func:`access.errors.user_message`): the project's own refusals unchanged, anything unexpected with where to
report it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import NoReturn, ParamSpec, TypeVar

import pulumi

from access.errors import user_message
from access.stack import pulumi_internals

P = ParamSpec("P")
T = TypeVar("T")
MESSAGE_SHOWN = 32  # pulumi-language-python-exec: PYTHON_PROCESS_EXITED_AFTER_SHOWING_USER_ACTIONABLE_MESSAGE_CODE


def run_error(error: BaseException, prefix: str = "") -> pulumi.RunError:
    """``error`` as the one line the engine shows (a RunError keeps its own text)."""
    text = str(error) if isinstance(error, pulumi.RunError) else user_message(error)
    return pulumi.RunError(f"{prefix}{text}")


def stop(error: BaseException, prefix: str = "") -> NoReturn:
    """End the program with ``error`` as its only error line (see the module docstring)."""
    refusal = run_error(error, prefix)
    if pulumi_internals.under_mocks():
        raise refusal from None
    pulumi.log.error(str(refusal))
    # SystemExit leaves the event loop at once, also from inside an apply (asyncio re-raises it out of the task).
    raise SystemExit(MESSAGE_SHOWN)


def one_line_errors(function: Callable[P, T]) -> Callable[P, T]:
    """``function`` (an ``apply`` callback) stopping the program with one line on any error."""

    @wraps(function)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return function(*args, **kwargs)
        except Exception as error:  # the last line of defence inside the engine's callbacks
            stop(error)

    return guarded
