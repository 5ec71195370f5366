"""``python -m access``: the same commands as the ``eks-access`` console script."""

from access.commands.cli import exit_with

exit_with("python -m access")
