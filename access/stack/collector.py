"""Python's cyclic garbage collector while a program declares and registers thousands of resources.

Every resource the Pulumi SDK registers is a web of Outputs, futures and coroutines that lives until the run
ends, and every full collection walks all of it: at 1,000 project-environments that was about half of a run's CPU,
in the program and in the bare floor alike (docs/performance.md). Nothing a run allocates while it registers is
cyclic garbage worth collecting early (reference counting still frees the rest at once), so collection is paused
for the run and restored afterwards, also when the run fails:

- the offline runner (:func:`access.stack.offline.run_program`: ``plan``, ``kubeconfig --from-plan``, the tests)
  pauses it around the whole run, registrations and stack outputs included; ``plan`` pauses it for its whole
  process (loading, the run, the access evaluation and the printing);
- under the real engine the registrations finish after :func:`access.stack.program.main` returns, while the SDK
  drains its RPCs; ``main`` pauses collection while it declares, then freezes what it declared
  (:func:`freeze_declared`) before collection resumes, so the collections of the drain never walk it again.

The memory this costs is measured by ``bench/commands.py`` and recorded in docs/performance.md.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's previous state (on or off) restored after it,
    whether the block returns or raises."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def freeze_declared() -> None:
    """Move every object alive now (the declared resources, their Outputs and pending registrations) into the
    collector's permanent generation: later collections skip them. For a process that ends with the program
    (the engine's language host), never for a runner that runs programs one after another in one process."""
    gc.freeze()
