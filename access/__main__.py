import sys

from access.commands.cli import main

code = main()
if "access.stack.offline" in sys.modules:  # a command ran the program under mocks: shut its event loop down cleanly
    sys.modules["access.stack.offline"].close_runtime()
sys.exit(code)
