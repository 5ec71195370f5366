"""GitHub-safe markdown, checked with cmark-gfm (GitHub's own renderer, through cmarkgfm) rather than our opinion.

A rendered escape must be the text itself; a code span must hold exactly its text, in a table cell too; a
bounded document must stop before its limit; the diff's own rows must render as written (``everything (* on
*/*)`` used to render as ``(* on <em>/</em>)``); and a 2,000-user organisation's pull-request comment fits in one
GitHub comment with every prod row that fails the check in it.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import cmarkgfm
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from access.commands.diff.compare import compare
from access.commands.diff.render import markdown
from access.commands.diff.snapshot import RuleSets, snapshot_of
from access.commands.diff.types import DiffResult
from access.commands.markdown import COMMENT_BUDGET, COMMENT_LIMIT, Bounded, code, escape, table
from access.core.config import load
from access.core.model import Organisation
from access.core.plan.environment import plan_environment
from bench.make_org import OrgShape, make_org
from tests.helpers import ConfigTree

# Everything but what no escape can stop (bare URLs, e-mail addresses): values that may hold those are code spans.
PROSE = st.text(st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="@:"), max_size=60)
ANY_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), min_size=1, max_size=60)


def render(text: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(text)


def inner(rendered: str, tag: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(rf"<{tag}>(.*?)</{tag}>", rendered, re.DOTALL)]


@given(PROSE)
def test_escaped_prose_renders_as_itself(text: str) -> None:
    shown = " ".join(text.split())
    rendered = render(escape(text))
    if not shown:
        assert rendered == ""
        return
    assert rendered.startswith("<p>") and rendered.endswith("</p>\n"), rendered
    body = rendered[len("<p>") : -len("</p>\n")]
    assert "<" not in body, rendered  # no emphasis, links, code, HTML or line breaks
    assert html.unescape(body) == shown


@given(ANY_TEXT)
def test_a_code_span_in_a_table_cell_holds_exactly_its_text(text: str) -> None:
    shown = " ".join(text.split())
    if not shown:
        return
    rendered = render("\n".join(table(["value"], [[code(text)]])))
    assert inner(rendered, "td") == [f"<code>{html.escape(shown, quote=False)}</code>"] or inner(rendered, "code") == [
        shown
    ], rendered
    assert inner(rendered, "code") == [shown]


def test_wildcards_pipes_and_addresses_render_literally() -> None:
    rows = [
        [code("zoe"), code("everything (* on */*)")],
        [code("jo@example.com"), code("get,list a|b; `x`")],
        [escape("1. *not* a list"), escape("<b>not html</b> & ~~not struck~~")],
    ]
    rendered = render("\n".join(table(["principal", "permissions"], rows)))
    assert "<em>" not in rendered and "<del>" not in rendered and "<a " not in rendered and "<b>" not in rendered
    assert inner(rendered, "code") == ["zoe", "everything (* on */*)", "jo@example.com", "get,list a|b; `x`"]
    assert inner(rendered, "td")[-2:] == ["1. *not* a list", "<b>not html</b> & ~~not struck~~"]


def test_a_bounded_document_stops_before_its_limit_and_says_so() -> None:
    doc = Bounded(2000, "_cut_")
    doc.add(["# title", ""])
    shown = doc.add_table([], ["n"], [[code(str(i) * 30)] for i in range(500)], "{n} more")
    assert 0 < shown < 500 and doc.cut
    text = doc.text()
    assert len(text.encode()) <= 2000
    assert text.endswith("\n_cut_\n") and f"_{500 - shown} more_" in text
    whole = Bounded(None, "_cut_")
    assert whole.add_table([], ["n"], [["1"], ["2"]]) == 2 and not whole.cut and "_cut_" not in whole.text()


def test_the_diff_renders_as_written(sample_org: Organisation, tree: ConfigTree) -> None:
    tree.edit("teams.yaml", lambda d: d["teams"]["platform"]["members"].append("zoe@example.com"))
    org = tree.load()
    rule_sets = RuleSets()
    diff = compare(
        "dev",
        snapshot_of(plan_environment(sample_org, "dev"), sample_org, rule_sets),
        snapshot_of(plan_environment(org, "dev"), org, rule_sets),
        rule_sets,
    )
    rendered = render(markdown(DiffResult("main", "working tree", [diff]), ["cluster-admin"]))
    assert "<em>" not in rendered and "<a " not in rendered
    codes = inner(rendered, "code")
    assert "everything (* on */*)" in codes and "zoe@example.com" in codes
    assert "gains everything (* on */*)" in codes


@pytest.fixture(scope="module")
def big_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """2,000 users in 200 teams, 40 projects in dev, staging and prod; the head swaps view and operate everywhere."""
    root = tmp_path_factory.mktemp("org")
    make_org(root / "base", OrgShape(users=2000, projects=40, environments=3))
    shutil.copytree(root / "base", root / "head")
    path = root / "head" / "config" / "access.yaml"
    data = yaml.safe_load(path.read_text())
    swap = {"view": "operate", "operate": "view"}
    for projects in data["grants"].values():
        for environments in projects.values():
            for env, level in list(environments.items()):
                environments[env] = swap.get(level, level)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return root / "base" / "config", root / "head" / "config"


def test_a_large_organisations_comment_fits_with_every_failing_prod_row(big_org: tuple[Path, Path]) -> None:
    base, head = load(big_org[0]), load(big_org[1])
    rule_sets = RuleSets()
    stacks = [
        compare(
            env,
            snapshot_of(plan_environment(base, env), base, rule_sets),
            snapshot_of(plan_environment(head, env), head, rule_sets),
            rule_sets,
        )
        for env in base.environments
    ]
    result = DiffResult("main", "working tree", stacks)
    fail_on = ["exec", "secrets", "cluster-admin", "system", "escalation", "trust", "code"]
    full = markdown(result, fail_on)
    comment = markdown(result, fail_on, COMMENT_BUDGET)
    assert len(full.encode()) > 10 * COMMENT_LIMIT  # the whole diff is far larger than a comment
    assert len(comment) <= len(comment.encode()) <= COMMENT_BUDGET < COMMENT_LIMIT
    assert "Cut to fit one GitHub comment" in comment
    prod = next(d for d in stacks if d.environment == "prod")
    failing = [f for f in prod.flags if f.fails(fail_on)]
    assert failing
    rows = [line for line in comment.splitlines() if line.startswith("| 🔴 |") and "| `prod` |" in line]
    for flag in failing:
        assert any(f"`{flag.namespace}`" in row and f"`{flag.principal}`" in row for row in rows), flag.text
    # The summary comes first and names every stack, prod first.
    summary = comment[comment.index("#### Summary") : comment.index("#### Sensitive changes")]
    assert summary.index("`prod`") < summary.index("`staging`") < summary.index("`dev`")
    rendered = render(comment)
    assert "raw HTML omitted" not in rendered, rendered[rendered.index("raw HTML omitted") - 300 :][:400]
    assert re.findall(r"<em>(.*?)</em>", rendered) == ["276 more changes in prod"]
