"""Shared test fixtures: where the bundled sample apps are, and tool availability."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"


def example_apk(name: str) -> Path:
    """Path of a bundled sample app; skips the test when it has not been built."""
    path = EXAMPLES / f"{name}.apk"
    if not path.exists():
        pytest.skip(f"sample app {name}.apk is not built (run `make fixtures`)")
    return path


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"Debian tool '{name}' is not installed (run `make tools`)")
    return found
