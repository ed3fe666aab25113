"""The `appwarden` command line.

Each stage contributes a Typer sub-app from its own module in this package
(scan, rules, policy, governance...); this module only assembles them.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer(no_args_is_help=True, help="appwarden: app personal-information protection testing.")


@app.callback()
def _root() -> None:
    """appwarden: app personal-information protection testing."""
    from appwarden.allocator import map_large_blocks

    map_large_blocks()  # before any scan: forked folder-scan workers inherit it


@app.command()
def version() -> None:
    """Print the engine version."""
    from appwarden import ENGINE_VERSION

    typer.echo(ENGINE_VERSION)


#: Commands that never touch the governance database: invoked directly, they skip importing it.
_WITHOUT_GOVERNANCE = frozenset({"scan", "policy", "rules", "version"})


def _invoked_command(argv: list[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _register(argv: list[str]) -> None:
    from appwarden.cli.scan import scan

    app.command(help="Scan an APK or a folder of APKs.")(scan)
    if _invoked_command(argv) == "scan":
        return  # the command labs run per folder starts without the other sub-apps' imports
    from appwarden.cli import policy, rules
    from appwarden.cli.demo import demo

    app.command(help="Run the main job on the bundled sample apps.")(demo)
    app.add_typer(rules.app, name="rules")
    app.add_typer(policy.app, name="policy")
    # The governance commands bring SQLAlchemy, Alembic and the HTTP client: 0.6 s of start-up that a
    # developer's `appwarden scan app.apk` never uses. They are registered for every other invocation
    # (help, governance commands, and any argv not known to be one of the light commands).
    if _invoked_command(argv) not in _WITHOUT_GOVERNANCE:
        from appwarden.cli import governance

        governance.register(app)


_register(sys.argv[1:])


def main() -> None:
    app()
