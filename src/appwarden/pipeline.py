"""Scan orchestration: APK -> evidence -> app type -> rules -> ScanReport.

``scan_apk`` runs the whole chain on a file; ``evaluate`` runs the rule stage on
evidence you already have (a stored scan, a re-test with a newer catalog, the
benchmark). Both are deterministic: the same evidence, app type, policy and
catalog give a byte-identical ``ScanReport.model_dump_json()``. Timing goes to
the optional ``timings`` dict, never into the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appwarden import ENGINE_VERSION
from appwarden.errors import AppwardenError, ConfigurationError, PolicyDocumentError
from appwarden.evidence.model import Evidence, ParseWarning
from appwarden.evidence.trace import RuntimeTrace, TraceFormatError, load_trace
from appwarden.findings import ScanReport
from appwarden.rules import engine
from appwarden.rules.app_type import infer_app_type, resolve_app_type
from appwarden.rules.catalog_loader import Catalog, load_catalog

#: Policy files larger than this are refused before reading (the policy loader has its own limits too).
MAX_POLICY_BYTES = 20 * 1024 * 1024


def _policy_summary(policy: Any | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    summary = getattr(policy, "summary", None)
    if callable(summary):
        result = summary()
        if isinstance(result, dict):
            return result
    dump = getattr(policy, "model_dump", None)
    if callable(dump):
        dumped = dump(mode="json")
        if isinstance(dumped, dict):
            return dumped
    return {"type": type(policy).__name__}


def evaluate(
    evidence: Evidence,
    app_type: str | None = None,
    policy: Any | None = None,
    *,
    include_evidence: bool = True,
    catalog: Catalog | None = None,
    timings: dict[str, float] | None = None,
    trace: RuntimeTrace | None = None,
) -> ScanReport:
    """Judge ``evidence`` against the rule catalog and return the deterministic report.

    ``app_type`` is a declared type (id, Chinese name or number; ConfigurationError if
    unknown); without it the type is inferred and used only when confident.
    ``policy`` is a policy analysis (appwarden.evidence.policy) or None.
    ``timings`` (optional) receives ``app_type_seconds`` and ``engine_seconds``.
    ``trace`` is a runtime trace of the same package (DYNAMIC rules run only with one);
    TraceFormatError when it was recorded for another package.
    """
    if trace is not None and trace.header.package != evidence.identity.package:
        raise TraceFormatError(
            f"the runtime trace was recorded for package {trace.header.package}, "
            f"but the APK is {evidence.identity.package}; record a trace of this app"
        )
    started = time.perf_counter()
    decision = infer_app_type(evidence, declared=app_type)
    inferred_at = time.perf_counter()
    result = engine.run(evidence, decision, policy, catalog=catalog or load_catalog(), trace=trace)
    if timings is not None:
        timings["app_type_seconds"] = inferred_at - started
        timings["engine_seconds"] = result.duration_seconds
    return ScanReport(
        engine_version=ENGINE_VERSION,
        catalog_version=result.catalog_version,
        app=evidence.identity,
        app_type=decision,
        findings=result.findings,
        undecided=result.undecided,
        not_implemented=result.not_implemented,
        evidence=evidence if include_evidence else None,
        policy=_policy_summary(policy),
    )


def _load_policy_analyser() -> Callable[..., Any]:
    try:
        from appwarden.evidence.policy.analyse import analyse_policy
    except ImportError as exc:
        raise ConfigurationError(
            "privacy-policy analysis is not available in this installation", detail=str(exc)
        ) from exc
    return analyse_policy


def read_policy(policy_path: str | Path) -> Any:
    """Analyse a privacy-policy file (HTML, text, PDF, DOCX); PolicyDocumentError if it cannot be read."""
    path = Path(policy_path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PolicyDocumentError(f"cannot read policy file {path}: {exc.strerror or exc}") from exc
    if size > MAX_POLICY_BYTES:
        raise PolicyDocumentError(
            f"policy file {path} is {size} bytes, over the limit of {MAX_POLICY_BYTES} bytes; supply the text only"
        )
    analyse = _load_policy_analyser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyDocumentError(f"cannot read policy file {path}: {exc.strerror or exc}") from exc
    try:
        return analyse(data, filename=path.name)
    except PolicyDocumentError as exc:
        # Name the file: the user gave an APK and a policy, and must know which input is bad.
        raise PolicyDocumentError(f"policy file {path}: {exc.message}", detail=exc.detail) from exc


def warm_up(*, with_rules: bool = True) -> None:
    """Load what every scan needs once: the evidence readers and catalogs (``warm_up_extraction``)
    and, ``with_rules``, the rule catalog. A folder scan calls it before starting its worker
    processes, which are forked and so inherit it instead of each paying for it on its first APK.
    The rule checks and the policy model are left to the workers: loaded there, in parallel, they
    cost the folder less wall time than loaded here first (measured: 1.30 against 1.34 s for 13
    APKs). An evidence-only folder scan calls ``warm_up_extraction`` alone and never imports this
    module: the rules, app types and runtime traces cost its parent 50 ms before any worker starts."""
    from appwarden.evidence.extract import warm_up_extraction

    warm_up_extraction()
    if with_rules:
        load_catalog()


def scan_apk(
    path: str | Path,
    *,
    app_type: str | None = None,
    policy_path: str | Path | None = None,
    include_evidence: bool = True,
    timings: dict[str, float] | None = None,
    trace_path: str | Path | None = None,
    policy_url: str | None = None,
    fetch_linked_policy: bool = False,
    allow_private_network: bool = False,
) -> ScanReport:
    """Extract evidence from the APK at ``path`` and judge it; see ``evaluate``.

    The policy judged is, first found: the file ``policy_path``, the page at ``policy_url``, the
    policy the APK bundles, and (only with ``fetch_linked_policy``) the policy page the app links.
    Bad arguments (unknown app type, unreadable policy file or page, runtime trace) fail before the
    APK is read. ``timings`` (optional) also receives ``extract_seconds`` and ``policy_seconds``.
    """
    if app_type is not None:
        resolve_app_type(app_type)
    policy = None
    if policy_path is not None or policy_url is not None:
        policy_started = time.perf_counter()
        if policy_path is not None:
            policy = read_policy(policy_path)
        else:
            assert policy_url is not None
            policy = read_policy_url(policy_url, allow_private_network=allow_private_network)
        if timings is not None:
            timings["policy_seconds"] = time.perf_counter() - policy_started
    trace = load_trace(trace_path) if trace_path is not None else None
    from appwarden.evidence.extract import extract_evidence

    started = time.perf_counter()
    evidence = extract_evidence(Path(path))
    if timings is not None:
        timings["extract_seconds"] = time.perf_counter() - started
    if policy is None:
        policy_started = time.perf_counter()
        policy, evidence = read_bundled_policy(Path(path), evidence)
        if policy is None and fetch_linked_policy:
            policy, evidence = read_linked_policy(evidence, allow_private_network=allow_private_network)
        if timings is not None and policy is not None:
            timings["policy_seconds"] = time.perf_counter() - policy_started
    return evaluate(evidence, app_type, policy, include_evidence=include_evidence, timings=timings, trace=trace)


def judge_policy_document(analysis: Any) -> dict[str, Any]:
    """A policy judged by itself, as JSON-ready data: the analysis (outline, sentence labels, facts) with
    the findings of the document-only POLICY rules (``engine.run_document``) beside it."""
    judged = engine.run_document(analysis)
    document: dict[str, Any] = analysis.model_dump(mode="json")
    document["findings"] = [f.model_dump(mode="json") for f in judged.findings]
    document["undecided"] = [u.model_dump(mode="json") for u in judged.undecided]
    document["catalog_version"] = judged.catalog_version
    return document


#: A fetched page with fewer body sentences than this is a shell that a script fills in, not a policy.
MIN_FETCHED_SENTENCES = 5
#: Linked policy pages tried at most, privacy-specific links first.
MAX_LINKED_POLICY_URLS = 3


def read_policy_url(url: str, *, allow_private_network: bool = False) -> Any:
    """Fetch and analyse the policy page at ``url``; PolicyDocumentError when it is not a readable policy.

    Fetching follows ``appwarden.evidence.policy.fetch`` (public addresses only unless
    ``allow_private_network``; size, redirect and time limits). A page with almost no text is
    refused with advice: it is usually rendered by script, and a saved copy reads as a file.
    """
    from appwarden.evidence.policy.fetch import fetch_policy

    fetched = fetch_policy(url, allow_private=allow_private_network)
    try:
        analysis = _load_policy_analyser()(fetched.data, filename=fetched.filename, media_type=fetched.media_type)
        body = sum(1 for s in analysis.sentences if not s.is_heading)
    except PolicyDocumentError:
        if b"<script" not in fetched.data[:1_000_000].lower():
            raise
        body = 0
    if body < MIN_FETCHED_SENTENCES:
        raise PolicyDocumentError(
            f"the page at {fetched.final_url} has {body} sentence(s) of text: it is probably filled in by a script",
            detail="open it in a browser, save the page and give the file with --policy",
        )
    return analysis


def read_linked_policy(evidence: Evidence, *, allow_private_network: bool = False) -> tuple[Any | None, Evidence]:
    """The analysis of the policy page the app links (privacy links first), or None with warnings saying why.

    Only links that name a privacy policy are tried (not user agreements or terms), at most
    ``MAX_LINKED_POLICY_URLS``; each failure is a ``linked_policy_unreadable`` warning.
    """
    from appwarden.evidence.policy_signals import PRIVACY_MARK

    links = [u for u in evidence.privacy_policy.urls if PRIVACY_MARK.search(u)][:MAX_LINKED_POLICY_URLS]
    if not links:
        return None, evidence
    warnings = list(evidence.warnings)
    for url in links:
        try:
            analysis = read_policy_url(url, allow_private_network=allow_private_network)
        except AppwardenError as exc:
            warnings.append(ParseWarning(code="linked_policy_unreadable", message=str(exc), where=url))
            continue
        return analysis, evidence.model_copy(update={"warnings": warnings})
    return None, evidence.model_copy(update={"warnings": warnings})


def read_bundled_policy(apk: Path, evidence: Evidence) -> tuple[Any | None, Evidence]:
    """The analysis of the privacy policy the APK bundles (assets/, res/raw/), when no policy file was given.

    The document is the one ``main_privacy_policy`` picks from the evidence; its analysis names it
    ``APK!/path``. A bundled document that cannot be read or analysed leaves the scan without a policy
    and adds a ``bundled_policy_unreadable`` warning to the evidence, so the report says why the
    POLICY rules did not run.
    """
    from appwarden.evidence.policy_signals import main_privacy_policy

    document = main_privacy_policy(evidence.privacy_policy.bundled_documents)
    if document is None:
        return None, evidence
    try:
        from appwarden.apk.zip import ApkArchive

        with ApkArchive.open(apk) as archive:
            data = archive.read(document.path)
        analysis = _load_policy_analyser()(data, filename=f"{apk.name}!/{document.path}")
    except AppwardenError as exc:
        warning = ParseWarning(code="bundled_policy_unreadable", message=str(exc), where=document.path)
        return None, evidence.model_copy(update={"warnings": [*evidence.warnings, warning]})
    return analysis, evidence
