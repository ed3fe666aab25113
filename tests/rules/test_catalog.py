"""The catalog covers every violation-catalog item, cites only existing items, and is versioned by content."""

from __future__ import annotations

import functools
import shutil
from importlib import resources
from pathlib import Path

import pytest
import yaml

from appwarden.errors import ConfigurationError
from appwarden.rules.catalog_loader import CATALOG_SEMVER, default_catalog_dir, load_catalog
from appwarden.rules.registry import check_for_rule, import_errors, registered_names

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=1)
def _items() -> list[dict]:
    text = (resources.files("appwarden") / "data" / "regs" / "violations.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=_LOADER)["items"]


def _violation_ids() -> set[str]:
    return {item["id"] for item in _items()}


def test_every_violation_item_is_referenced_by_the_catalog() -> None:
    ids = _violation_ids()
    assert len(ids) == 242
    referenced = {ref for rule in load_catalog().rules for ref in rule.refs}
    assert ids - referenced == set()


def test_every_basis_ref_exists_in_violations() -> None:
    ids = _violation_ids()
    unknown = {(r.id, ref) for r in load_catalog().rules for ref in r.refs if ref not in ids}
    assert unknown == set()


def test_basis_clause_matches_the_violation_item() -> None:
    items = {i["id"]: i for i in _items()}
    for rule in load_catalog().rules:
        for b in rule.basis:
            if b.ref:
                assert b.doc == items[b.ref]["doc_key"], (rule.id, b.ref)
                assert b.clause and b.clause in str(items[b.ref]["clause"]), (rule.id, b.ref, b.clause)


def test_items_not_implemented_keep_their_primary_technique() -> None:
    """Every item whose primary technique no implemented rule decides has an entry of that technique."""
    items = _items()
    rules = load_catalog().rules
    for item in items:
        techniques = {r.technique for r in rules if item["id"] in r.refs}
        assert item["primary_technique"] in techniques, item["id"]


def test_implemented_rules_have_registered_checks_and_no_import_errors() -> None:
    catalog = load_catalog()
    for rule in catalog.rules:
        if rule.check is not None:
            assert check_for_rule(rule.id, rule.check) is not None, rule.id
    assert import_errors() == {}
    assert {"pi_beyond_app_type", "sdk_before_consent", "wake_up_receivers"} <= set(registered_names())
    implemented = [r for r in catalog.rules if check_for_rule(r.id, r.check)]
    assert len(implemented) >= 15
    assert {r.technique for r in catalog.rules} == {"STATIC", "POLICY", "DYNAMIC", "STORE", "MANUAL"}


def test_version_is_semver_plus_content_hash_and_stable() -> None:
    a = load_catalog(default_catalog_dir())
    b = load_catalog(default_catalog_dir())
    assert a.version == b.version
    semver, digest = a.version.split("+")
    assert semver == CATALOG_SEMVER and len(digest) == 12
    assert [r.id for r in a.rules] == sorted(r.id for r in a.rules)


def test_version_changes_with_content(tmp_path: Path) -> None:
    copy = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), copy)
    before = load_catalog(copy).version
    path = copy / "hardening.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("severity: info", "severity: low"), encoding="utf-8")
    assert load_catalog(copy).version != before


def test_duplicate_id_and_bad_documents_are_refused(tmp_path: Path) -> None:
    copy = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), copy)
    shutil.copy(copy / "hardening.yaml", copy / "zz_copy.yaml")
    with pytest.raises(ConfigurationError, match="defined twice"):
        load_catalog(copy)
    (copy / "zz_copy.yaml").write_text("rules:\n- id: AW-X-001\n  title: {zh: a}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"invalid rule AW-X-001 in zz_copy\.yaml"):
        load_catalog(copy)
    (copy / "zz_copy.yaml").write_text("rules: [: bad", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_catalog(copy)
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_catalog(tmp_path / "missing")


def test_a_rule_with_a_check_gives_remedial_advice_not_a_note_that_it_is_not_automated() -> None:
    """A finding's advice tells the operator what to fix; 'appwarden does not check this yet' on a finding
    appwarden produced is false."""
    for rule in load_catalog().rules:
        if check_for_rule(rule.id, rule.check) is None:
            continue
        assert "尚未实现" not in rule.advice.zh, rule.id
        assert "yet" not in rule.advice.en and "Needs " not in rule.advice.en, rule.id
