"""Issue 14, item 2: the diff and the access verifier decide "is this permission covered" by lookups, with the
same answers as the simple definition (scan everything held, match as the RBAC authorizer does) on generated input.
"""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given
from hypothesis import strategies as st

from access.commands.diff.compare import _uncovered, covered, covers
from access.commands.diff.snapshot import RuleSets
from access.core.evaluate.types import CLUSTER_WIDE, CoverIndex, Permission
from access.core.evaluate.verify import uncovered

GROUPS = st.sampled_from(["", "apps", "batch", "*"])
RESOURCES = st.sampled_from(["pods", "pods/exec", "pods/log", "deployments", "deployments/scale", "*", "*/exec",
                             "*/scale", "secrets"])  # fmt: skip
VERBS = st.sampled_from(["get", "list", "create", "delete", "*"])
TRIPLES = st.tuples(GROUPS, RESOURCES, VERBS)


def rbac_matches(granted: tuple[str, str, str], wanted: tuple[str, str, str]) -> bool:
    """RBAC's rule matching written out on its own (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac:
    APIGroupMatches, ResourceMatches, VerbMatches): ``*`` or equal; ``*/<sub>`` matches any resource's ``<sub>``."""
    (group, resource, verb), (want_group, want_resource, want_verb) = granted, wanted
    resource_ok = resource in ("*", want_resource) or (
        resource.startswith("*/") and "/" in want_resource and want_resource.split("/", 1)[1] == resource[2:]
    )
    return group in ("*", want_group) and resource_ok and verb in ("*", want_verb)


@given(TRIPLES, st.frozensets(TRIPLES, max_size=12))
def test_covered_is_the_scan_by_rbac_matching(
    wanted: tuple[str, str, str], cover: frozenset[tuple[str, str, str]]
) -> None:
    simple = any(rbac_matches(granted, wanted) for granted in cover)
    assert covered(wanted, cover) == simple == any(covers(granted, wanted) for granted in cover)


@given(st.frozensets(TRIPLES, max_size=20), st.frozensets(TRIPLES, max_size=20))
def test_gained_permissions_are_those_the_simple_definition_finds(
    old: frozenset[tuple[str, str, str]], new: frozenset[tuple[str, str, str]]
) -> None:
    """What the diff reports as gained: new triples no old triple covers, through the wildcard index."""
    rule_sets = RuleSets()
    old_ids, new_ids = frozenset({rule_sets.intern(old)}), frozenset({rule_sets.intern(new)})
    found = list(_uncovered(rule_sets.expand(new_ids) - rule_sets.expand(old_ids), rule_sets.wildcards(old_ids)))
    simple = sorted(t for t in new - old if not any(rbac_matches(granted, t) for granted in old))
    assert found == simple


SCOPES = st.sampled_from(["team-a-dev", "team-b-dev", CLUSTER_WIDE])
NAMES = st.sampled_from([(), ("one",), ("one", "two")])
PERMISSIONS = st.builds(Permission, SCOPES, GROUPS, RESOURCES, VERBS, NAMES)


def simple_covers(granted: Permission, wanted: Permission) -> bool:
    if granted.scope not in (CLUSTER_WIDE, wanted.scope):
        return False
    if not rbac_matches((granted.api_group, granted.resource, granted.verb), (wanted.api_group, wanted.resource,
                                                                              wanted.verb)):  # fmt: skip
        return False
    return not granted.names or (bool(wanted.names) and set(wanted.names) <= set(granted.names))


@given(st.lists(PERMISSIONS, max_size=15), st.frozensets(PERMISSIONS, max_size=15))
def test_the_verifier_s_uncovered_is_the_simple_scan(wanted: list[Permission], have: frozenset[Permission]) -> None:
    simple = sorted(w for w in wanted if not any(simple_covers(h, w) for h in have))
    assert uncovered(wanted, have) == simple
    index = CoverIndex(have)
    assert all(index.covered(w) == any(simple_covers(h, w) for h in have) for w in wanted)


class NoScan(frozenset[tuple[str, str, str]]):
    """A cover that may be asked "is X in you" but never iterated: a scan of it fails the test."""

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        raise AssertionError("the cover was scanned")


def test_a_wildcard_cover_is_found_by_lookups_never_by_a_scan() -> None:
    many = NoScan({(f"group-{i}", "pods", "get") for i in range(1000)} | {("", "*/exec", "*")})
    assert covered(("", "pods/exec", "create"), many)
    assert not covered(("", "pods/log", "create"), many)
    assert list(_uncovered(frozenset({("", "pods/exec", "get"), ("", "pods/log", "get")}), many)) == [
        ("", "pods/log", "get")
    ]
