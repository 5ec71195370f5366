import sys

from access.cli import main

code = main()
if "access.offline" in sys.modules:  # a command ran the program under mocks: shut its event loop down cleanly
    sys.modules["access.offline"].close_runtime()
sys.exit(code)
