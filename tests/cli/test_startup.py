"""The light commands start without importing the governance stack; every other invocation gets it."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = """
import sys
sys.argv = ["appwarden", *sys.argv[1:]]
import appwarden.cli as cli
import typer.main
group = typer.main.get_group(cli.app)
print("sqlalchemy" in sys.modules, "case" in group.commands, "scan" in group.commands, "appwarden.cli.policy" in sys.modules)
"""


def _probe(*argv: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.parametrize("argv", [["--no-color", "policy", "classify"], ["rules", "list"]])
def test_light_commands_skip_the_governance_imports(argv: list[str]) -> None:
    assert _probe(*argv) == ["False", "False", "True", "True"]


def test_scan_registers_only_itself() -> None:
    assert _probe("scan", "app.apk") == ["False", "False", "True", "False"]


@pytest.mark.parametrize("argv", [[], ["--help"], ["case", "list"], ["tick"], ["scna"]])
def test_help_governance_and_unknown_commands_register_everything(argv: list[str]) -> None:
    assert _probe(*argv) == ["True", "True", "True", "True"]


def test_a_folder_scan_parent_leaves_certificate_parsing_to_its_workers() -> None:
    # The parent's start-up is on every folder scan's critical path; workers import cryptography
    # in parallel when they read a certificate (60 ms less wall time on 13 APKs).
    probe = (
        "import sys; sys.argv = ['appwarden', 'scan', 'dir']\n"
        "import appwarden.cli\n"
        "from appwarden.pipeline import warm_up\n"
        "warm_up()\n"
        "print('cryptography' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_an_evidence_only_folder_scan_parent_does_not_load_the_rules() -> None:
    # Rules, app types and runtime traces cost the parent 50 ms before any worker starts; an
    # evidence-only folder scan needs the readers and catalogs only.
    probe = (
        "import sys; sys.argv = ['appwarden', 'scan', 'dir']\n"
        "from pathlib import Path\n"
        "import appwarden.cli\n"
        "from appwarden.cli import scan\n"
        "from appwarden.evidence import catalogs\n"
        "options = scan.ScanOptions(app_type=None, policy_path=None, with_rules=False)\n"
        "seen = []\n"
        "scan._run_pool([Path('missing-1.apk'), Path('missing-2.apk')], options, 2, lambda p, o: seen.append(o.ok))\n"
        "print(seen, catalogs.sdk_catalog.cache_info().currsize,"
        " *(m in sys.modules for m in ('appwarden.pipeline', 'appwarden.rules.engine')))\n"
        "from appwarden.pipeline import warm_up\n"
        "from appwarden.rules import catalog_loader\n"
        "warm_up()\n"
        "print(catalog_loader._default_catalog.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[False,", "False]", "1", "False", "False", "1"]
