"""SARIF 2.1.0 output for developers' CI (code-scanning dashboards, PR annotations).

One run per report. ``tool.driver.rules`` describes every rule that produced a
finding (title, advice as help, legal basis and technique as properties);
each finding becomes a result whose level comes from its severity, whose
locations point at what a developer can open: the calling class and method
(logical locations) for code evidence, ``AndroidManifest.xml`` for manifest
evidence and for app-level findings, the resource or asset path for strings
found in files. Call paths become code flows. ``partialFingerprints`` carries ``Finding.fingerprint`` so
that CI tools track "the same problem" across versions.

The output is deterministic (no timestamps), like the JSON report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from appwarden.findings import EvidenceRef, Finding, ScanReport
from appwarden.report import i18n
from appwarden.report.i18n import Lang

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
MANIFEST_URI = "AndroidManifest.xml"
#: Key of Finding.fingerprint in partialFingerprints; the "/v1" lets us change the recipe later.
FINGERPRINT_KEY = "appwardenFingerprint/v1"

#: SARIF has three result levels; critical and high both fail a CI gate as errors.
LEVELS: dict[str, str] = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
#: GitHub code scanning ranks results by this CVSS-like score (a string, per its documentation).
SECURITY_SEVERITY: dict[str, str] = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}

#: Evidence kinds whose record is a manifest element.
_MANIFEST_KINDS = {"permission", "component", "meta_data"}


def _name(title_en: str) -> str:
    """A PascalCase identifier from an English title (SARIF's reportingDescriptor.name)."""
    words = re.findall(r"[A-Za-z0-9]+", title_en)
    return "".join(w[:1].upper() + w[1:] for w in words) or "Rule"


def _basis_text(finding: Finding) -> list[str]:
    return [" ".join(p for p in (b.doc, b.clause, f"[{b.ref}]" if b.ref else None) if p) for b in finding.basis]


def _rule_descriptor(finding: Finding, lang: Lang) -> dict[str, Any]:
    zh = lang == "zh"
    title = finding.title_zh if zh else finding.title_en
    advice = (finding.advice_zh if zh else finding.advice_en) or finding.advice_en or finding.advice_zh
    basis = _basis_text(finding)
    full = f"{title} ({i18n.label('basis', lang)}: {'; '.join(basis)})" if basis else title
    tags = ["privacy", "personal-information", finding.technique.lower()]
    if finding.focus_area:
        tags.append(finding.focus_area)
    descriptor: dict[str, Any] = {
        "id": finding.rule_id,
        "name": _name(finding.title_en),
        "shortDescription": {"text": title},
        "fullDescription": {"text": full},
        "defaultConfiguration": {"level": LEVELS[finding.severity]},
        "properties": {
            "basis": [b.model_dump(mode="json", exclude_none=True) for b in finding.basis],
            "technique": finding.technique,
            "focusArea": finding.focus_area,
            "tags": tags,
            "precision": finding.confidence,
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "title": {"zh": finding.title_zh, "en": finding.title_en},
        },
    }
    if advice:
        descriptor["help"] = {"text": advice}
    return descriptor


def _method_location(class_name: str, method: str | None, kind_note: str | None = None) -> dict[str, Any]:
    """Logical location of a method (or of a class when ``method`` is None)."""
    if method:
        name = method.split("(", 1)[0]
        logical: dict[str, Any] = {
            "name": name,
            "fullyQualifiedName": f"{class_name}.{name}",
            "decoratedName": f"{class_name}->{method}",
            "kind": "function",
        }
    else:
        logical = {"name": class_name.rsplit(".", 1)[-1], "fullyQualifiedName": class_name, "kind": "type"}
    location: dict[str, Any] = {"logicalLocations": [logical]}
    if kind_note:
        location["message"] = {"text": kind_note}
    return location


def _frame_location(frame: str) -> dict[str, Any]:
    """Location of a ``class->method(desc)`` frame as written in call paths."""
    if "->" in frame:
        cls, method = frame.split("->", 1)
        return _method_location(cls.removeprefix("L").rstrip(";").replace("/", "."), method)
    return {"logicalLocations": [{"fullyQualifiedName": frame, "kind": "function"}]}


def _artifact(uri: str, description: str | None = None) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}}}
    if description:
        location["message"] = {"text": description}
    return location


def _locations(ref: EvidenceRef) -> list[dict[str, Any]]:
    data: Mapping[str, Any] = ref.data
    if ref.kind in _MANIFEST_KINDS:
        return [_artifact(MANIFEST_URI, ref.summary)]
    if ref.kind == "api_call" and isinstance(data.get("caller_class"), str):
        method = data.get("caller_method")
        return [_method_location(data["caller_class"], method if isinstance(method, str) else None, ref.summary)]
    if ref.kind == "call_path":
        steps = data.get("steps")
        if isinstance(steps, list) and steps:
            location = _frame_location(str(steps[-1]))
            location["message"] = {"text": ref.summary}
            return [location]
    if ref.kind == "endpoint" and isinstance(data.get("source"), str):
        source = data["source"]
        prefix, _, where = source.partition(":")
        if prefix == "dex" and where:
            return [_method_location(where, None, ref.summary)]
        if prefix in ("res", "asset") and where:
            uri = where if prefix == "res" else f"assets/{where.removeprefix('assets/')}"
            return [_artifact(uri, ref.summary)]
    if ref.kind == "sdk":
        prefixes = [
            str(m.get("value"))
            for m in data.get("evidence") or []
            if isinstance(m, Mapping) and m.get("kind") == "package_prefix"
        ]
        if prefixes:
            return [
                {
                    "logicalLocations": [{"fullyQualifiedName": p, "kind": "namespace"} for p in prefixes],
                    "message": {"text": ref.summary},
                }
            ]
    return []


def _code_flows(finding: Finding) -> list[dict[str, Any]]:
    flows = []
    for ref in finding.evidence:
        steps = ref.data.get("steps") if ref.kind == "call_path" else None
        if not isinstance(steps, list) or not steps:
            continue
        frames = [str(s) for s in steps]
        target = ref.data.get("target")
        thread = [{"location": _frame_location(f)} for f in frames]
        if isinstance(target, str):
            thread.append({"location": {"message": {"text": target}}})
        flows.append({"message": {"text": ref.summary}, "threadFlows": [{"locations": thread}]})
    return flows


def _result(finding: Finding, rule_index: int, lang: Lang) -> dict[str, Any]:
    message = finding.message_zh if lang == "zh" else finding.message_en
    locations: list[dict[str, Any]] = []
    seen: set[str] = set()
    for ref in finding.evidence:
        for location in _locations(ref):
            key = repr(location)
            if key not in seen:
                seen.add(key)
                locations.append(location)
    if not locations:
        # App-level findings (no policy, hardening...) have no code location; code-scanning services
        # drop results without one, so they are anchored to the manifest that names the app.
        locations.append(_artifact(MANIFEST_URI, f"app-level finding for {finding.owner}"))
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": message},
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {
            "severity": finding.severity,
            "confidence": finding.confidence,
            "technique": finding.technique,
            "owner": finding.owner,
            "evidence": [ref.summary for ref in finding.evidence],
        },
    }
    if finding.sdk_vendor:
        result["properties"]["sdkVendor"] = finding.sdk_vendor
    result["locations"] = locations
    flows = _code_flows(finding)
    if flows:
        result["codeFlows"] = flows
    return result


def render_sarif(report: ScanReport, *, lang: str = "en") -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (a JSON-ready dict); texts in ``lang`` (English by default)."""
    language = i18n.check_lang(lang)
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for finding in sorted(report.findings, key=lambda f: f.rule_id):
        if finding.rule_id not in index:
            index[finding.rule_id] = len(rules)
            rules.append(_rule_descriptor(finding, language))
    notifications = [
        {
            "descriptor": {"id": u.rule_id},
            "level": "note",
            "message": {"text": f"{u.rule_id} not decided: {u.reason}"},
        }
        for u in report.undecided
    ]
    app = report.app
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "appwarden",
                "version": report.engine_version,
                "semanticVersion": report.engine_version,
                "rules": rules,
                "properties": {"catalogVersion": report.catalog_version},
            }
        },
        "automationDetails": {"id": f"appwarden/{app.package}/"},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": [_result(f, index[f.rule_id], language) for f in report.findings],
        "columnKind": "unicodeCodePoints",
        "properties": {
            "package": app.package,
            "versionName": app.version_name,
            "versionCode": app.version_code,
            "apkSha256": app.apk_sha256,
            "signerSha256": sorted({s.sha256 for s in app.signers}),
            "appType": report.app_type.decided,
            "reportSchemaVersion": report.schema_version,
            "undecidedRules": [u.rule_id for u in report.undecided],
            "notImplementedRules": list(report.not_implemented),
        },
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
