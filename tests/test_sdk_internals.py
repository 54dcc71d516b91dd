"""The one adapter over the Pulumi SDK's private internals: every internal it names exists in the pinned SDK."""

from __future__ import annotations

import pytest

from shared import sdk_internals


def test_every_internal_exists_in_the_installed_sdk() -> None:
    sdk_internals.check()


def test_a_moved_internal_is_named_with_where_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sdk_internals.INTERNALS, ("pulumi.runtime.sync_await", "_gone"), "a thing an upgrade removed")
    with pytest.raises(sdk_internals.SdkInternalsError) as caught:
        sdk_internals.check()
    message = str(caught.value)
    assert "has no pulumi.runtime.sync_await._gone (used to a thing an upgrade removed)" in message
    assert message.endswith("update shared/sdk_internals.py for this version")


def test_nothing_else_reaches_into_the_sdk() -> None:
    from pathlib import Path

    from tools.checkout import repo_files

    root = Path(__file__).resolve().parents[1]
    private = ("_sync_await", "run_pulumi_func", "rpc_manager", "runtime.config", "runtime.rpc", "runtime.settings")
    offenders = [
        f"{path.relative_to(root)}: {name}"
        for path in repo_files(root)
        if path.suffix == ".py" and path.relative_to(root).parts[0] in ("shared", "tools", "stacks")
        if path.name != "sdk_internals.py"
        for name in private
        if name in path.read_text()
    ]
    assert offenders == []
