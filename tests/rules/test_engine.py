"""The engine: deterministic order, failures become undecided rules, techniques not run are listed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appwarden.findings import AppTypeDecision
from appwarden.pipeline import evaluate
from appwarden.rules import engine
from appwarden.rules.catalog_loader import default_catalog_dir, load_catalog
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check


@check("test_engine_always_fails")
def _always_fails(ev, ctx: RuleContext):  # type: ignore[no-untyped-def]
    raise ZeroDivisionError("boom")


@check("AW-TEST-002")  # bound by rule id: the rule has no `check` field
def _policy_rule(ev, ctx: RuleContext):  # type: ignore[no-untyped-def]
    yield ctx.finding(message_zh="政策", message_en=f"policy {ctx.policy}", evidence=[], key_parts=("p",))


_EXTRA_RULES = """
rules:
- id: AW-TEST-001
  title: {zh: 测试, en: test}
  basis: [{doc: RDM, clause: "一.1", ref: RRD-1-01}]
  technique: STATIC
  severity: low
  advice: {zh: 无, en: none}
  check: test_engine_always_fails
- id: AW-TEST-002
  title: {zh: 政策测试, en: policy test}
  basis: [{doc: RDM, clause: "一.1", ref: RRD-1-01}]
  technique: POLICY
  severity: low
  advice: {zh: 无, en: none}
- id: AW-TEST-003
  title: {zh: 未注册, en: unregistered}
  basis: [{doc: RDM, clause: "一.1", ref: RRD-1-01}]
  technique: STATIC
  severity: low
  advice: {zh: 无, en: none}
  check: no_such_check_anywhere
"""


def _catalog_with_test_rules(tmp_path: Path):  # type: ignore[no-untyped-def]
    copy = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), copy)
    (copy / "zz_test.yaml").write_text(_EXTRA_RULES, encoding="utf-8")
    return load_catalog(copy)


def _busy_evidence(ef):  # type: ignore[no-untyped-def]
    return ef.evidence(
        label="超亮手电筒",
        target_sdk=22,
        permissions=[
            ef.permission("READ_PHONE_STATE", ["imei"]),
            ef.permission("ACCESS_FINE_LOCATION", ["precise_location", "location"]),
        ],
        sdks=[ef.sdk("umeng", reaches_pi=["imei"])],
        api_calls=[
            ef.api_call(ef.IMEI_API, ["imei"], owner="umeng", caller_class="com.umeng.A"),
            ef.api_call(ef.LOCATION_API, ["location"], caller_class="com.example.app.Loc"),
        ],
        early_paths=[ef.early_path(target="com.umeng.UMConfigure->init()V", target_kind="sdk_init", sdk="umeng")],
        components=[
            ef.component(
                "receiver",
                "com.example.app.Boot",
                actions=["android.intent.action.BOOT_COMPLETED"],
                wake_up_actions=["android.intent.action.BOOT_COMPLETED"],
            )
        ],
    )


def test_failing_check_becomes_undecided_and_scan_goes_on(ef, tmp_path: Path) -> None:
    catalog = _catalog_with_test_rules(tmp_path)
    decision = AppTypeDecision(decided="utility_tools", reason="test")
    result = engine.run(_busy_evidence(ef), decision, catalog=catalog)
    undecided = {u.rule_id: u.reason for u in result.undecided}
    assert "ZeroDivisionError: boom" in undecided["AW-TEST-001"]
    assert "not registered" in undecided["AW-TEST-003"]
    assert {"AW-MIN-002", "AW-SDK-001", "AW-START-001", "AW-PERM-002"} <= {f.rule_id for f in result.findings}
    # The POLICY rule needs a policy: without one it is listed as not run.
    assert "AW-TEST-002" in result.not_implemented
    with_policy = engine.run(_busy_evidence(ef), decision, policy="P", catalog=catalog)
    assert [f.message_en for f in with_policy.findings if f.rule_id == "AW-TEST-002"] == ["policy P"]


def test_undecided_app_type_makes_type_rules_undecided(ef) -> None:
    ev = ef.evidence(package="com.qq.zz", label="Zzz", permissions=[ef.permission("READ_CONTACTS", ["contacts"])])
    report = evaluate(ev)
    undecided = {u.rule_id: u.reason for u in report.undecided}
    assert report.app_type.decided is None
    for rule_id in ("AW-MIN-001", "AW-MIN-002", "AW-PERM-001", "AW-SDK-003"):
        assert "app type not decided" in undecided[rule_id]


def test_findings_sorted_and_report_byte_identical(ef) -> None:
    ev = _busy_evidence(ef)
    first = evaluate(ev)
    second = evaluate(ev)
    assert first.model_dump_json() == second.model_dump_json()
    keys = [(f.rule_id, f.fingerprint) for f in first.findings]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # DYNAMIC / STORE / MANUAL rules are listed as not run, never silently dropped.
    catalog = load_catalog()
    not_run = set(first.not_implemented)
    assert all(r.id in not_run for r in catalog.rules if r.technique in ("DYNAMIC", "STORE", "MANUAL"))
    assert first.catalog_version == catalog.version


def test_evidence_order_does_not_change_findings(ef) -> None:
    ev = _busy_evidence(ef)
    shuffled = ev.model_copy(
        update={"permissions": list(reversed(ev.permissions)), "api_calls": list(reversed(ev.api_calls))}
    )
    assert (
        evaluate(ev, include_evidence=False).model_dump_json()
        == evaluate(shuffled, include_evidence=False).model_dump_json()
    )


def test_registering_two_functions_under_one_name_is_refused() -> None:
    def first(ev, ctx):  # type: ignore[no-untyped-def]
        return []

    def second(ev, ctx):  # type: ignore[no-untyped-def]
        return []

    check("test_engine_dup")(first)
    with pytest.raises(RuntimeError, match="registered twice"):
        check("test_engine_dup")(second)


def test_the_same_problem_under_several_standards_is_one_finding_citing_every_clause() -> None:
    from appwarden.evidence.policy.analyse import analyse_policy
    from appwarden.rules import engine

    # A policy without any contact: PG3, RDM and SAG each have a rule for it.
    policy = analyse_policy("一、我们收集的信息\n我们会收集您的手机号码,用于注册。\n", filename="p.txt")
    result = engine.run_document(policy)
    contact = [f for f in result.findings if "CR4" in f.message_zh]
    assert len(contact) == 1, [f.rule_id for f in contact]
    finding = contact[0]
    assert len(finding.also_rule_ids) >= 2 and finding.rule_id not in finding.also_rule_ids
    cited = {b.ref for b in finding.basis}
    assert {"RPG3-2.9-03", "RRD-6-05", "RSAG-16"} <= cited
    # Different problems of one rule stay apart (identity and contact are both RSAG-09's).
    assert any(f.rule_id == "AW-SAG-009" and "CR3" in f.message_zh for f in result.findings)
