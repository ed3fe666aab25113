"""The HTML report: a document a regulator can attach to a rectification notice.

One self-contained page (inline CSS, no scripts, no fonts or images fetched)
laid out for A4 printing. Everything the app controls (label, class names,
policy text, strings found in the APK) is escaped by Jinja2's autoescape; the
template never marks data as safe.

The template only prints: this module turns the report into small view objects
first (labels translated, evidence records flattened into label/value rows), so
an evidence record of an unexpected shape degrades to its one-line summary
instead of breaking the page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jinja2

from appwarden.errors import AppwardenError
from appwarden.evidence.model import APP_OWNER, Identity
from appwarden.findings import SEVERITY_ORDER, EvidenceRef, Finding, LegalBasis, RunInfo, ScanReport
from appwarden.report import i18n
from appwarden.report.i18n import Lang

#: Severities from the worst down: the order of every summary table.
SEVERITIES: tuple[str, ...] = tuple(sorted(SEVERITY_ORDER, key=lambda s: -SEVERITY_ORDER[s]))
TECHNIQUES: tuple[str, ...] = ("STATIC", "POLICY", "DYNAMIC", "STORE", "MANUAL")

#: Evidence values longer than this are cut in the page (the JSON report keeps them whole).
MAX_VALUE_CHARS = 2000
#: Call-path frames shown per path; longer paths show their first frames and the target.
MAX_CHAIN_FRAMES = 40


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    code: bool = False


@dataclass(frozen=True)
class EvidenceView:
    kind: str
    kind_label: str
    summary: str
    rows: list[Row] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BasisView:
    doc: str
    doc_title: str
    clause: str
    ref: str
    title: str


@dataclass(frozen=True)
class FindingView:
    number: int
    anchor: str
    finding: Finding
    title: str
    message: str
    advice: str | None
    severity_label: str
    confidence_label: str
    technique_label: str
    focus_area_label: str
    owner_label: str
    basis: list[BasisView]
    evidence: list[EvidenceView]


@dataclass(frozen=True)
class SignerView:
    subject: str
    issuer: str
    sha256: str
    schemes: str
    validity: str


@dataclass(frozen=True)
class CountRow:
    label: str
    counts: list[int]
    total: int


@dataclass(frozen=True)
class NotImplementedGroup:
    technique_label: str
    rules: list[tuple[str, str]]


@dataclass(frozen=True)
class SdkRow:
    name: str
    vendor: str
    state: str
    reaches_pi: str


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _text(value: Any) -> str:
    """A printable form of an evidence value of any JSON shape."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return _cut(", ".join(_text(v) for v in value))
    if isinstance(value, Mapping):
        return _cut(", ".join(f"{k}={_text(v)}" for k, v in value.items()))
    return _cut(str(value))


def _yes_no(value: Any, lang: Lang) -> str:
    if value is None:
        return i18n.label("unknown", lang)
    return i18n.label("yes" if value else "no", lang)


def _pi_list(value: Any, lang: Lang) -> str:
    if not isinstance(value, list):
        return _text(value)
    return _cut(
        "、".join(i18n.pi_type_label(str(v), lang) for v in value)
        if lang == "zh"
        else ", ".join(i18n.pi_type_label(str(v), lang) for v in value)
    )


def readable_api(descriptor: str) -> str:
    """``Landroid/x/Y;->m(...)R`` as ``android.x.Y.m()``; other strings unchanged."""
    if ";->" not in descriptor:
        return descriptor
    owner, member = descriptor.split(";->", 1)
    owner = owner.removeprefix("L").replace("/", ".")
    name = member.split("(", 1)[0].split(":", 1)[0]
    return f"{owner}.{name}()" if "(" in member else f"{owner}.{name}"


def _rows(pairs: Iterable[tuple[str, Any, bool]], lang: Lang) -> list[Row]:
    return [Row(i18n.label(key, lang), _text(value), code) for key, value, code in pairs if value not in (None, "", [])]


def evidence_view(ref: EvidenceRef, lang: Lang) -> EvidenceView:
    """Flatten one evidence record into labelled rows; unknown shapes keep only the summary."""
    data = ref.data
    get = data.get
    rows: list[Row] = []
    chain: list[str] = []
    if ref.kind == "call_path":
        steps = get("steps")
        if isinstance(steps, list):
            chain = [_cut(str(s)) for s in steps[:MAX_CHAIN_FRAMES]]
            if len(steps) > MAX_CHAIN_FRAMES:
                chain.append(f"… (+{len(steps) - MAX_CHAIN_FRAMES})")
        target = get("target")
        if isinstance(target, str):
            chain.append(_cut(target))
        entry_kind = get("entry_kind")
        rows = _rows(
            [
                ("entry_point", i18n.entry_kind_label(str(entry_kind), lang) if entry_kind else None, False),
                ("owner", _owner_text(get("owner"), None, lang) if get("owner") else None, False),
                ("sdk", get("sdk"), False),
                ("pi_types", _pi_list(get("pi_types"), lang) if get("pi_types") else None, False),
            ],
            lang,
        )
    elif ref.kind == "api_call":
        api = get("api")
        caller = f"{get('caller_class')}.{get('caller_method')}" if get("caller_class") else None
        where = f"{get('dex')} @ {get('offset')}" if get("dex") is not None else None
        rows = _rows(
            [
                ("api", readable_api(api) if isinstance(api, str) else api, True),
                ("caller", caller, True),
                ("owner", _owner_text(get("owner"), None, lang) if get("owner") else None, False),
                ("dex_offset", where, True),
                ("pi_types", _pi_list(get("pi_types"), lang) if get("pi_types") else None, False),
                (
                    "confidence",
                    i18n.confidence_label(str(get("confidence")), lang) if get("confidence") else None,
                    False,
                ),
            ],
            lang,
        )
    elif ref.kind == "sdk":
        name = get("name_zh") if lang == "zh" and get("name_zh") else get("name")
        vendor = get("vendor_zh") if lang == "zh" and get("vendor_zh") else get("vendor")
        matched = get("evidence")
        matched_text = (
            [f"{m.get('kind')}: {m.get('value')}" for m in matched if isinstance(m, Mapping)]
            if isinstance(matched, list)
            else None
        )
        rows = _rows(
            [
                ("sdk", f"{name} ({get('id')})" if name else get("id"), False),
                ("vendor", vendor, False),
                ("matched_by", matched_text, True),
                ("initialised", _yes_no(get("initialised"), lang), False),
                ("called", _yes_no(get("called"), lang), False),
                ("init_evidence", get("init_evidence"), True),
                ("reaches_pi", _pi_list(get("reaches_pi"), lang) if get("reaches_pi") else None, False),
            ],
            lang,
        )
    elif ref.kind == "component":
        rows = _rows(
            [
                ("component", f"<{get('kind')}> {get('name')}" if get("name") else None, True),
                ("exported", _yes_no(get("exported"), lang), False),
                ("wake_up_actions", get("wake_up_actions"), True),
                ("actions", _filter_actions(get("intent_filters")), True),
                ("owner", _owner_text(get("owner"), None, lang) if get("owner") else None, False),
            ],
            lang,
        )
    elif ref.kind == "permission":
        rows = _rows(
            [
                ("permission", get("name"), True),
                ("protection_level", get("protection_level"), False),
                ("pi_types", _pi_list(get("pi_types"), lang) if get("pi_types") else None, False),
            ],
            lang,
        )
    elif ref.kind == "endpoint":
        rows = _rows(
            [
                ("endpoint", get("url"), True),
                ("source", get("source"), True),
                ("owner", _owner_text(get("owner"), None, lang) if get("owner") else None, False),
                ("third_party", _yes_no(get("third_party"), lang) if "third_party" in data else None, False),
            ],
            lang,
        )
    return EvidenceView(
        kind=ref.kind,
        kind_label=i18n.evidence_kind_label(ref.kind, lang),
        summary=_cut(ref.summary),
        rows=rows,
        chain=chain,
    )


def _filter_actions(filters: Any) -> list[str] | None:
    if not isinstance(filters, list):
        return None
    actions = sorted({str(a) for f in filters if isinstance(f, Mapping) for a in (f.get("actions") or [])})
    return actions or None


def _owner_text(owner: Any, vendor: str | None, lang: Lang) -> str:
    if owner in (None, APP_OWNER):
        return i18n.label("app_owner", lang)
    return f"SDK {owner}" + (f" — {vendor}" if vendor else "")


def _basis_view(basis: LegalBasis) -> BasisView:
    return BasisView(
        doc=basis.doc,
        doc_title=i18n.document_titles().get(basis.doc, basis.doc),
        clause=basis.clause or "",
        ref=basis.ref or "",
        title=basis.title or "",
    )


def finding_view(number: int, finding: Finding, lang: Lang) -> FindingView:
    """Everything the template prints about one finding, in ``lang``."""
    zh = lang == "zh"
    return FindingView(
        number=number,
        anchor=f"finding-{number}",
        finding=finding,
        title=finding.title_zh if zh else finding.title_en,
        message=finding.message_zh if zh else finding.message_en,
        advice=(finding.advice_zh if zh else finding.advice_en) or (finding.advice_en if zh else finding.advice_zh),
        severity_label=i18n.severity_label(finding.severity, lang),
        confidence_label=i18n.confidence_label(finding.confidence, lang),
        technique_label=i18n.technique_label(finding.technique, lang),
        focus_area_label=i18n.focus_area_label(finding.focus_area, lang),
        owner_label=_owner_text(finding.owner, finding.sdk_vendor, lang),
        basis=[_basis_view(b) for b in finding.basis],
        evidence=[evidence_view(e, lang) for e in finding.evidence],
    )


def signer_views(identity: Identity) -> list[SignerView]:
    """One row per distinct certificate, with the schemes that carry it (v1, v2, v3...)."""
    by_cert: dict[str, list[str]] = {}
    first: dict[str, Any] = {}
    for signer in identity.signers:
        by_cert.setdefault(signer.sha256, []).append(signer.scheme)
        first.setdefault(signer.sha256, signer)
    views = []
    for sha256, schemes in by_cert.items():
        s = first[sha256]
        validity = f"{s.not_before or '?'} — {s.not_after or '?'}" if (s.not_before or s.not_after) else ""
        views.append(SignerView(s.subject, s.issuer, sha256, ", ".join(sorted(set(schemes))), validity))
    return views


def _severity_counts(findings: Iterable[Finding]) -> CountRow:
    counter: Counter[str] = Counter(f.severity for f in findings)
    counts = [counter.get(s, 0) for s in SEVERITIES]
    return CountRow("", counts, sum(counts))


def summary_by_focus_area(findings: list[Finding], lang: Lang) -> list[CountRow]:
    """Rows of (focus area, counts per severity worst first, total); areas in catalog order, 'other' last."""
    areas = sorted({f.focus_area for f in findings}, key=lambda a: (a is None, a or ""))
    rows = []
    for area in areas:
        row = _severity_counts(f for f in findings if f.focus_area == area)
        rows.append(CountRow(i18n.focus_area_label(area, lang), row.counts, row.total))
    return rows


def summary_by_owner(findings: list[Finding], lang: Lang) -> list[CountRow]:
    """Rows of (responsible party, counts per severity, total): the app first, then SDKs by name."""
    owners = sorted({(f.owner, f.sdk_vendor) for f in findings}, key=lambda o: (o[0] != APP_OWNER, o[0], o[1] or ""))
    rows = []
    for owner, vendor in owners:
        row = _severity_counts(f for f in findings if f.owner == owner and f.sdk_vendor == vendor)
        rows.append(CountRow(_owner_text(owner, vendor, lang), row.counts, row.total))
    return rows


def _catalog_titles() -> dict[str, tuple[str, str, str]]:
    """Rule id -> (technique, zh title, en title) from the packaged catalog; empty if it cannot load."""
    try:
        from appwarden.rules.catalog_loader import load_catalog

        catalog = load_catalog()
    except (AppwardenError, ImportError):
        # The report must still render when the catalog is unavailable; ids alone are then listed.
        return {}
    return {r.id: (r.technique, r.title.zh, r.title.en) for r in catalog.rules}


def not_implemented_groups(rule_ids: list[str], lang: Lang) -> list[NotImplementedGroup]:
    """Rules not run in this scan, grouped by the technique they need, with their titles."""
    titles = _catalog_titles()
    grouped: dict[str, list[tuple[str, str]]] = {}
    for rule_id in rule_ids:
        technique, zh, en = titles.get(rule_id, ("MANUAL", "", ""))
        grouped.setdefault(technique, []).append((rule_id, zh if lang == "zh" else en))
    order = {t: i for i, t in enumerate(TECHNIQUES)}
    return [
        NotImplementedGroup(f"{i18n.technique_label(t, lang)} ({len(rules)})", rules)
        for t, rules in sorted(grouped.items(), key=lambda kv: order.get(kv[0], len(order)))
    ]


def sdk_rows(report: ScanReport, lang: Lang) -> list[SdkRow]:
    """The SDK inventory from the evidence, when the report carries it."""
    if report.evidence is None:
        return []
    rows = []
    for sdk in report.evidence.sdks:
        name = (sdk.name_zh or sdk.name) if lang == "zh" else sdk.name
        vendor = (sdk.vendor_zh or sdk.vendor) if lang == "zh" else (sdk.vendor or sdk.vendor_zh)
        state_keys = [k for k, on in (("initialised", sdk.initialised), ("called", sdk.called)) if on]
        state = ", ".join(i18n.label(k, lang) for k in state_keys) or "—"
        rows.append(
            SdkRow(f"{name} ({sdk.id})", vendor or i18n.label("unknown", lang), state, _pi_list(sdk.reaches_pi, lang))
        )
    return rows


def policy_rows(policy: Mapping[str, Any] | None, lang: Lang) -> list[Row]:
    """The policy analysis summary as label/value rows (PI types by name); empty when no policy was read."""
    if not policy:
        return []
    names = i18n.POLICY_FIELD_LABELS[lang]
    rows = []
    for key, value in policy.items():
        if value in (None, "", []):
            continue
        text = _pi_list(value, lang) if key == "pi_types" else _text(value)
        rows.append(Row(names.get(key, str(key)), text, code=key in ("sha256", "source")))
    return rows


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # autoescape=True for every template: app labels, class names and policy text are attacker-controlled.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("appwarden.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(report: ScanReport, *, lang: str = "zh", run: RunInfo | None = None) -> str:
    """The report as one self-contained HTML document in ``lang`` ("zh" default, or "en")."""
    language = i18n.check_lang(lang)
    template = _environment().get_template("report.html.j2")
    app = report.app
    label = (app.label_zh or app.label) if language == "zh" else (app.label or app.label_zh)
    findings = report.findings
    decision = report.app_type
    return template.render(
        lang=language,
        html_lang="zh-CN" if language == "zh" else "en",
        L=i18n.LABELS[language],
        report=report,
        app=app,
        app_label=label or app.package,
        signers=signer_views(app),
        run=run,
        severities=[(s, i18n.severity_label(s, language)) for s in SEVERITIES],
        severity_totals=_severity_counts(findings),
        max_severity=(worst, i18n.severity_label(worst, language)) if (worst := report.max_severity()) else None,
        focus_rows=summary_by_focus_area(findings, language),
        owner_rows=summary_by_owner(findings, language),
        findings=[finding_view(i, f, language) for i, f in enumerate(findings, start=1)],
        declared_label=i18n.app_type_label(decision.declared, language) if decision.declared else None,
        decided_label=(
            i18n.app_type_label(decision.decided, language)
            if decision.decided
            else i18n.label("type_undecided", language)
        ),
        inferred=[
            (i18n.app_type_label(c.app_type, language), f"{c.confidence:.2f}", "; ".join(c.reasons))
            for c in decision.inferred
        ],
        undecided=report.undecided,
        not_implemented=not_implemented_groups(report.not_implemented, language),
        sdks=sdk_rows(report, language),
        policy=policy_rows(report.policy, language),
        sdk_catalog_version=report.evidence.sdk_catalog_version if report.evidence else None,
    )
