"""The C scanner must actually be built where a compiler exists: without it the
pure-Python twin gives the same answers ~100x slower, which would silently break
the product's speed targets."""

from __future__ import annotations

import importlib
import shutil

import pytest


def test_c_scanner_is_built_when_a_compiler_is_available() -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the pure-Python scanner is used")
    module = importlib.import_module("appwarden.apk._dexscan")
    assert hasattr(module, "__file__")
