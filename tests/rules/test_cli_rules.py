"""`rules list`, `rules show`, `rules app-types`."""

from __future__ import annotations

from typer.testing import CliRunner

from appwarden.cli.rules import app

runner = CliRunner()


def test_list_filters_and_prints_coverage() -> None:
    result = runner.invoke(app, ["list", "--implemented"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "AW-SDK-001" in result.output and "AW-RDM-002" not in result.output
    assert "Coverage by technique" in result.output and "Coverage by source document" in result.output
    dynamic = runner.invoke(app, ["list", "--technique", "DYNAMIC", "--doc", "TAF078.6"], env={"COLUMNS": "220"})
    assert dynamic.exit_code == 0
    assert "AW-T7806-002" in dynamic.output and "AW-SDK-001" not in dynamic.output
    assert "not" in runner.invoke(app, ["list", "--not-implemented"], env={"COLUMNS": "220"}).output.lower()


def test_show_prints_both_languages_and_basis() -> None:
    result = runner.invoke(app, ["show", "aw-sdk-001"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    for text in ("第三方SDK", "Third-party SDK", "TAF078.6", "R078.6-05", "sdk_before_consent (implemented)"):
        assert text in result.output


def test_show_unknown_rule_exits_2() -> None:
    result = runner.invoke(app, ["show", "AW-NOPE-999"])
    assert result.exit_code == 2
    assert "no rule" in result.output


def test_app_types_lists_39() -> None:
    result = runner.invoke(app, ["app-types"], env={"COLUMNS": "220"})
    assert result.exit_code == 0
    assert "utility_tools" in result.output and "performance_ticketing" in result.output
