"""Pre-screen: an app that reaches PI but ships no consent-dialog text.

Whether a policy exists at all is AW-POLICY-001 (check ``policy_absent``, policy stage);
this check only asks whether the APK contains the words of a consent dialog.
"""

from __future__ import annotations

from collections.abc import Iterator

from appwarden.evidence.model import Evidence
from appwarden.findings import EvidenceRef, Finding
from appwarden.rules.checks._common import is_judged, pi_names
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check

#: At most this many PI types are named in the message (the evidence keeps all of them).
_NAMED_PI = 6


@check("no_policy_or_consent_dialog")
def no_policy_or_consent_dialog(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Low-confidence pre-screen: the dialog may be built in code or loaded from the network at run time."""
    # Judged PI (sensitive / PI-12) first: they are what a reader of the notice cares about.
    reached = sorted(ev.pi_reached(), key=lambda pi: (not is_judged(pi), pi))
    signals = ev.privacy_policy
    if not reached or signals.has_consent_dialog:
        return
    pis_zh, pis_en = pi_names(reached[:_NAMED_PI])
    if len(reached) > _NAMED_PI:
        pis_zh, pis_en = f"{pis_zh}等{len(reached)}类信息", f"{pis_en} and {len(reached) - _NAMED_PI} more PI types"
    has_policy = bool(signals.bundled_documents or signals.urls)
    yield ctx.finding(
        message_zh=f"App可获取{pis_zh}，但安装包中未发现隐私政策同意弹窗的文字（可能由代码生成或从网络加载，需动态确认）。",
        message_en=(
            f"The app can reach {pis_en}, but the APK holds no consent-dialog text (it may be built in code or "
            "loaded from the network at run time; confirm dynamically)."
        ),
        evidence=[
            EvidenceRef(
                kind="policy_absence",
                summary=(
                    f"0 consent strings; {len(signals.bundled_documents)} bundled policy document(s), "
                    f"{len(signals.urls)} policy URL(s)"
                ),
                data={"pi_reached": reached, **signals.model_dump(mode="json")},
            )
        ],
        confidence="low",
        key_parts=("consent_dialog", "with_policy" if has_policy else "without_policy"),
    )
