"""GitHub-safe markdown: escaping, code spans, tables, and documents bounded in size.

What GitHub's renderer (cmark-gfm with its extensions) would otherwise interpret:

- emphasis and strikethrough (``*``, ``_``, ``~``), code spans (backticks), links and images (``[``, ``]``,
  ``!``), raw HTML and autolinks (``<``, ``>``), entities (``&``), table cells (``|``), the backslash itself, and
  at the start of a line headings, lists and setext underlines (``#``, ``-``, ``+``, ``=``, ``1.``):
  :func:`escape` puts a backslash before each, which CommonMark defines for every ASCII punctuation character
  ("Backslash escapes", CommonMark spec 0.31, section 2.4);
- bare e-mail addresses and URLs, ``@mentions`` and ``:emoji:``, which no escape prevents: values that come from
  config (principals, namespaces, ARNs, usernames, groups, resources) are always written with :func:`code`, a code
  span, inside which GitHub links, mentions and emojifies nothing. Inside a table a code span still ends at an
  unescaped ``|``, so :func:`code` writes ``\\|`` there, which GFM turns back into ``|`` (GFM spec, "Tables").

A comment on GitHub holds at most 65,536 characters (the API answers "Body is too long (maximum is 65536
characters)"); a job summary at most 1 MiB per step. :class:`Bounded` writes the most important parts first and
stops before a limit, counted in UTF-8 bytes (never fewer than characters), leaving room for its closing note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

SPECIAL = frozenset("\\`*_[]<>!|~&")
BLOCK_START = re.compile(r"^(#|-|\+|=|\d+[.)])")  # would start a heading, list or setext line at a line's start
COMMENT_LIMIT = 65_536  # characters in a GitHub comment body
COMMENT_BUDGET = 60_000  # what eks-access writes into one, leaving room for a marker and a note
SUMMARY_LIMIT = 1024 * 1024  # bytes of one step's job summary


def escape(text: str) -> str:
    """Prose that renders as exactly ``text``: every character GFM could interpret is backslash-escaped."""
    escaped = "".join(f"\\{c}" if c in SPECIAL else c for c in " ".join(text.split()))
    start = BLOCK_START.match(escaped)
    return escaped if start is None else f"{escaped[: start.end() - 1]}\\{escaped[start.end() - 1 :]}"


def code(text: str, in_table: bool = True) -> str:
    """``text`` as a code span that renders literally (backticks inside included), on one line."""
    text = " ".join(text.split())
    if not text:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    if in_table:
        padded = padded.replace("|", "\\|")
    return f"{fence}{padded}{fence}"


def codes(items: Iterable[str], separator: str = ", ") -> str:
    return separator.join(code(i) for i in items)


def table(header: Sequence[str], rows: Iterable[Sequence[str]], align: Sequence[str] | None = None) -> list[str]:
    """A GFM table; cells must already be rendered (``escape``, ``code``), one line each."""
    marks = [{"right": "---:", "center": ":---:"}.get(a, "---") for a in (align or ["left"] * len(header))]
    return [_row(header), _row(marks), *(_row(r) for r in rows)]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c if c else " " for c in cells) + " |"


def size(text: str) -> int:
    return len(text.encode())


class Bounded:
    """A markdown document that stops before ``limit`` bytes (None: unbounded), with a closing note when cut.

    Blocks are added in order of importance; a block that does not fit is left out whole (tables can be cut per
    row with :meth:`add_table`), and every later block is tried too, so a small one may still fit.
    """

    def __init__(self, limit: int | None, cut_note: str) -> None:
        self.limit = limit
        self.cut_note = cut_note
        self.lines: list[str] = []
        self.used = 0
        self.cut = False

    def _room(self) -> int | None:
        if self.limit is None:
            return None
        return self.limit - self.used - size(self.cut_note) - 4

    def fits(self, lines: Sequence[str]) -> bool:
        room = self._room()
        return room is None or sum(size(line) + 1 for line in lines) <= room

    def add(self, lines: Sequence[str]) -> bool:
        """Add a block whole, or nothing (and remember that something was cut)."""
        if not self.fits(lines):
            self.cut = True
            return False
        self.lines += lines
        self.used += sum(size(line) + 1 for line in lines)
        return True

    def add_table(self, before: Sequence[str], header: Sequence[str], rows: Sequence[Sequence[str]],
                  left_out: str = "{n} more rows") -> int:  # fmt: skip
        """``before``, the table's header and as many rows as fit; a line says how many were left out."""
        if not rows:
            return 0
        worst = ["", f"_{escape(left_out.format(n=len(rows)))}_", ""]
        if not self.fits([*before, *table(header, []), _row(rows[0]), *worst]):
            self.cut = True
            return 0
        self.add([*before, *table(header, [])])
        shown = 0
        for row in rows:
            line = _row(row)
            if shown + 1 < len(rows) and not self.fits([line, *worst]):
                break
            if not self.add([line]):
                break
            shown += 1
        if shown < len(rows):
            self.cut = True
            self.add(["", f"_{escape(left_out.format(n=len(rows) - shown))}_"])
        self.add([""])
        return shown

    def text(self) -> str:
        body = "\n".join(self.lines).rstrip() + "\n"
        return body + ("\n" + self.cut_note + "\n" if self.cut else "")
