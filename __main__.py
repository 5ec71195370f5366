"""Pulumi entry point: `pulumi up -s <env>` runs this.

Bad config stops the program before any resource is declared, so nothing is applied; RunError makes the engine
print the one-line message as an error, without a stack trace. (`python -m access plan` shows the same line and
exits with code 2.) Anything else that goes wrong here is one line too, saying it is a bug to report.
"""

import pulumi

from access.stack.program import main
from access.stack.run_errors import run_error

try:
    outputs = main()
except pulumi.RunError:
    raise
except Exception as error:  # config errors, broken files, and the unexpected: one line each, never a traceback
    raise run_error(error) from None
for key, value in outputs.items():
    pulumi.export(key, value)
