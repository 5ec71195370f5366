"""The offline runner's private Pulumi SDK APIs exist in the installed SDK (an upgrade that moves them fails here)."""

from __future__ import annotations

import pytest

from access.stack import pulumi_internals


def test_every_private_api_the_offline_runner_uses_exists() -> None:
    pulumi_internals.check()


def test_a_moved_api_is_named_in_one_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        pulumi_internals, "USED", (*pulumi_internals.USED, ("pulumi.runtime.settings", "SETTINGS.gone_in_4_0"))
    )
    with pytest.raises(pulumi_internals.PulumiInternalsChanged) as error:
        pulumi_internals.check()
    message = str(error.value)
    assert "no longer has pulumi.runtime.settings.SETTINGS.gone_in_4_0;" in message
    assert "access/stack/pulumi_internals.py" in message
    assert "\n" not in message
