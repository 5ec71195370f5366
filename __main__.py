"""Pulumi entry point: `pulumi up -s <env>` runs this.

Bad config stops the program before any resource is declared, so nothing is applied; RunError makes the engine
print the one-line message as an error, without a stack trace. (`python -m access plan` shows the same line and
exits with code 2.)
"""

import pulumi

from access.errors import ConfigError
from access.stack.program import main

try:
    outputs = main()
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None
for key, value in outputs.items():
    pulumi.export(key, value)
