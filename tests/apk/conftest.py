"""Fixtures shared by the DEX reader tests."""

from __future__ import annotations

import pytest

from appwarden.apk import dex as dexmod


@pytest.fixture(params=["accelerated", "pure"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with the C accelerator and again with the pure-Python reader."""
    if request.param == "pure":
        monkeypatch.setattr(dexmod, "_accel", None)
    elif not dexmod.accelerated():
        pytest.skip("the C accelerator is not built")
    return str(request.param)
