"""Pulumi entry point: `pulumi up -s <env>` runs this.

Bad config stops the program before any resource is declared, so nothing is applied; `stop` makes the engine show
the one-line message as the only error, without a stack trace (access/stack/run_errors.py). (`python -m access plan`
shows the same line and exits with code 2.) Anything else that goes wrong here is one line too, saying it is a bug
to report.
"""

import pulumi

from access.stack.program import main
from access.stack.run_errors import stop

try:
    outputs = main()
except Exception as error:  # config errors, broken files, and the unexpected: one line each, never a traceback
    stop(error)
for key, value in outputs.items():
    pulumi.export(key, value)
