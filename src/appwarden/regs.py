"""The standards as data (``data/regs/*.yaml``), parsed once per process.

Evidence, rules, the policy lexicon and the trace agent all read the same files
(apis.yaml, permissions.yaml, pi_types.yaml, app_types.yaml); one cached loader
means each is parsed once. The parsed documents are shared: callers must treat
them as read-only and build their own structures from them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from appwarden.errors import ConfigurationError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def load_regs(name: str) -> Any:
    """The parsed ``data/regs/NAME`` document (shared, read-only)."""
    try:
        text = resources.files("appwarden").joinpath("data", "regs", name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise ConfigurationError(
            f"appwarden data file data/regs/{name} is missing", detail="reinstall the package"
        ) from exc
    return yaml.load(text, Loader=_LOADER)
