"""How the Pulumi program fails: always one line.

The language host prints a :class:`pulumi.RunError` as a single error line and anything else as "Program failed
with an unhandled exception" and a traceback (``pulumi-language-python-exec``). So the entry point and every
``apply`` that can fail turn whatever they raise into a RunError worded as ``python -m access`` words it
(:func:`access.errors.user_message`): the project's own refusals unchanged, anything unexpected with where to
report it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import pulumi

from access.errors import user_message

P = ParamSpec("P")
T = TypeVar("T")


def run_error(error: BaseException, prefix: str = "") -> pulumi.RunError:
    """``error`` as the one line the engine shows (a RunError keeps its own text)."""
    text = str(error) if isinstance(error, pulumi.RunError) else user_message(error)
    return pulumi.RunError(f"{prefix}{text}")


def one_line_errors(function: Callable[P, T]) -> Callable[P, T]:
    """``function`` (an ``apply`` callback) raising only RunErrors, each one line."""

    @wraps(function)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return function(*args, **kwargs)
        except pulumi.RunError:
            raise
        except Exception as error:  # the last line of defence inside the engine's callbacks
            raise run_error(error) from None

    return guarded
