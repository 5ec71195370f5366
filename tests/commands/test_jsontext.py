"""The plan's JSON writer spells exactly what ``json.dumps(indent=2, sort_keys=True)`` spells (docs/plan-json.md:
the same config always gives the same bytes), however values are shared or batched."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from access.commands import jsontext
from access.commands.jsontext import write_json

SHARED = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}, {"b": [1, 2]}]


def written(value: Any, write_size: list[int] | None = None) -> str:
    buffer = io.StringIO()

    def write(text: str) -> None:
        if write_size is not None:
            write_size.append(len(text))
        buffer.write(text)

    write_json(value, write)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        (),
        'é \u2028 " \\ \n \t \x00 😀',
        0,
        -12345678901234567890,
        -0.0,
        1e300,
        3.14,
        float("nan"),
        float("inf"),
        -float("inf"),
        True,
        False,
        None,
        {"z": [SHARED, SHARED, {"x": SHARED}], "a": SHARED, "e": {}, "l": [], "t": (1, (2,)), "n": {"b": None}},
        [SHARED] * 3,
        {"": "", "B": 1, "a": 2, "é": 3},  # keys sorted as json sorts them
    ],
)
def test_the_same_bytes_as_json_dumps(value: Any) -> None:
    assert written(value) == json.dumps(value, indent=2, sort_keys=True)


def test_shared_values_at_different_depths_and_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsontext, "BATCH", 7)  # many batches, also while a shared value is being encoded
    top = [1, [2, 3]]
    value = {
        "rows": [{"rules": SHARED, "i": i, "s": "x" * i} for i in range(300)],
        "also": SHARED,
        "top": top,
        "again": top,
        "deep": [[[top]], top],
    }
    sizes: list[int] = []
    assert written(value, sizes) == json.dumps(value, indent=2, sort_keys=True)
    assert len(sizes) > 10  # written in batches, not as one string


def test_refuses_what_json_would_convert_or_refuse() -> None:
    with pytest.raises(TypeError, match="str keys"):
        written({1: "one"})
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        written({"a": {1}})
