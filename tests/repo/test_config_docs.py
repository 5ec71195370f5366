"""Every key the loader accepts is documented in docs/config.md (found in the loader's source, not listed here).

The loader names the keys a mapping may hold where it reads it: ``node.mapping({...})`` or a module constant
such as ``ROLE_KEYS``; naming templates are the fields of ``Naming``. A new key without documentation fails.
"""

from __future__ import annotations

import ast
import re
from dataclasses import fields

from access.core.model import Naming
from tests.helpers import REPO

CONFIG_PACKAGE = REPO / "access" / "core" / "config"
DOCS = (REPO / "docs" / "config.md").read_text()


def _strings(node: ast.expr, constants: dict[str, ast.expr]) -> set[str]:
    if isinstance(node, ast.Name) and node.id in constants:
        return _strings(constants[node.id], constants)
    if isinstance(node, ast.Call) and node.args:  # frozenset({...})
        return _strings(node.args[0], constants)
    if isinstance(node, (ast.Set, ast.List, ast.Tuple)):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def accepted_keys() -> dict[str, set[str]]:
    """Keys per loader module: every literal or constant set handed to ``Node.mapping``."""
    found: dict[str, set[str]] = {}
    for path in sorted(CONFIG_PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text())
        constants = {
            target.id: node.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        keys: set[str] = set()
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
                continue
            if node.func.attr == "mapping":
                keys |= _strings(node.args[0], constants)
        if keys:
            found[path.name] = keys
    found["settings.py (naming)"] = {f.name for f in fields(Naming)}
    return found


def documented(key: str) -> bool:
    """``key`` is a segment of a backticked key path in the docs: `key`, `mfa.required`, `node_roles[].arn`."""
    segment = r"[\w<>-]+(?:\[\])?"
    return re.search(rf"`(?:{segment}\.)*{re.escape(key)}(?:\[\])?(?:\.{segment})*`", DOCS) is not None


def test_the_scan_finds_the_loaders_keys() -> None:
    keys = accepted_keys()
    assert {"naming", "roles", "iam"} <= keys["settings.py"]
    assert {"path", "mfa", "trusted_principals", "tags"} <= keys["settings.py"]  # ROLE_KEYS, a constant
    assert {"node_roles", "keep_map_roles", "break_glass_role"} <= keys["environments.py"]
    assert {"trusted_role", "github", "deploys", "service_accounts"} <= keys["access.py"]
    assert "allow_escalation" in keys["levels.py"]


def test_every_accepted_key_is_documented() -> None:
    missing = sorted(
        f"{module}: {key}" for module, keys in accepted_keys().items() for key in keys if not documented(key)
    )
    assert not missing, f"document these keys in docs/config.md: {missing}"


def test_an_undocumented_key_is_caught() -> None:
    assert not documented("retired_node_rolez")
    assert documented("max_session_duration") and documented("roles_per_account")
