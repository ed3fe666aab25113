"""The `appwarden` command line.

Each stage contributes a Typer sub-app from its own module in this package
(scan, rules, policy, governance...); this module only assembles them.
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="appwarden: app personal-information protection testing.")


@app.callback()
def _root() -> None:
    """appwarden: app personal-information protection testing."""


@app.command()
def version() -> None:
    """Print the engine version."""
    from appwarden import ENGINE_VERSION

    typer.echo(ENGINE_VERSION)


def _register() -> None:
    from appwarden.cli import governance, policy, rules
    from appwarden.cli.demo import demo
    from appwarden.cli.scan import scan

    app.command(help="Scan an APK or a folder of APKs.")(scan)
    app.command(help="Run the main job on the bundled sample apps.")(demo)
    app.add_typer(rules.app, name="rules")
    app.add_typer(policy.app, name="policy")
    governance.register(app)


_register()


def main() -> None:
    app()
