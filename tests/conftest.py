"""Test configuration; reusable helpers live in tests/support.py (import as `support`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import EXAMPLES


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
