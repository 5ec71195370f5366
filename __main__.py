"""Pulumi entry point: `pulumi up -s <env>` runs this. Bad config exits 2 with one line, nothing applied."""

import sys

import pulumi

from access.errors import ConfigError
from access.program import main

try:
    outputs = main()
except ConfigError as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)
for key, value in outputs.items():
    pulumi.export(key, value)
