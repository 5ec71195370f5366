"""JSON for people and tools, written fast: the bytes of ``json.dumps(value, indent=2, sort_keys=True)``, streamed.

The standard library's C encoder does not indent; with ``indent`` set, ``json.dumps`` falls back to its pure-Python
generators, which at 1,000 project-environments took longer to print the plan (146 MB) than to describe it. This
writer makes the same bytes (docs/plan-json.md promises stable output, and tools diff it) with the C string
escaper, one recursive function, and no work twice: a list or object that occurs more than once in the document (the
plan's rows share their levels' rule sets) is encoded once per indentation depth and its text reused. Pieces are
handed to ``write`` in batches, so the document is never one giant string.

Only plain JSON data: dicts with ``str`` keys, lists, tuples, ``str``, ``int``, ``float``, ``bool`` and ``None``; a dict
with other keys or any other type is refused with ``TypeError`` (``json.dumps`` would convert or refuse them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from json.encoder import encode_basestring_ascii  # the C escaper json.dumps uses
from typing import Any

INDENT = "  "
BATCH = 4096  # pieces per write

Container = list[Any] | tuple[Any, ...] | dict[str, Any]


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def write_json(value: Any, write: Callable[[str], Any]) -> None:
    """Write ``value`` as ``json.dumps(value, indent=2, sort_keys=True)`` would spell it, through ``write``."""
    writer = _Writer(write)
    writer.encode(value, 0)
    writer.flush()


class _Writer:
    def __init__(self, write: Callable[[str], Any]) -> None:
        self.write = write
        self.out: list[str] = []
        self.seen: set[tuple[int, int]] = set()  # (id, depth) of containers met once
        self.memo: dict[tuple[int, int], str] = {}  # ... and the text of those met again
        self.recording = 0  # containers being encoded for the memo: no batch is written inside one

    def flush(self) -> None:
        if self.out and not self.recording:
            self.write("".join(self.out))
            self.out.clear()

    def encode(self, value: Any, depth: int) -> None:
        append = self.out.append
        if isinstance(value, str):
            append(encode_basestring_ascii(value))
        elif value is None:
            append("null")
        elif value is True:
            append("true")
        elif value is False:
            append("false")
        elif isinstance(value, int):
            append(int.__repr__(value))
        elif isinstance(value, float):
            append(_float(value))
        elif isinstance(value, (list, tuple, dict)):
            if not value:
                append("{}" if isinstance(value, dict) else "[]")
            elif not self.shared(value, depth):
                self.container(value, depth)
        else:
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    def shared(self, value: Container, depth: int) -> bool:
        """Appends the text of a container seen before at this depth (encoding it once, the second time)."""
        key = (id(value), depth)
        text = self.memo.get(key)
        if text is None:
            if key not in self.seen:
                self.seen.add(key)
                return False
            start = len(self.out)
            self.recording += 1
            self.container(value, depth)
            self.recording -= 1
            text = self.memo[key] = "".join(self.out[start:])
            del self.out[start:]
        self.out.append(text)
        return True

    def container(self, value: Container, depth: int) -> None:
        out, encode = self.out, self.encode
        inner = "\n" + INDENT * (depth + 1)
        between = "," + inner
        top = depth < 2  # the document's keys and the items of its lists: where a batch is written
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise TypeError("only str keys: the plan's documents have no others")
            items: list[tuple[str | None, Any]] = [(key, value[key]) for key in sorted(value)]
            opening, closing = "{", "}"
        else:
            items = [(None, item) for item in value]
            opening, closing = "[", "]"
        out.append(opening + inner)
        for n, (key, item) in enumerate(items):
            if n:
                out.append(between)
            if key is not None:
                out.append(encode_basestring_ascii(key) + ": ")
            encode(item, depth + 1)
            if top and len(out) > BATCH:
                self.flush()
        out.append("\n" + INDENT * depth + closing)
