"""Collection before consent, statically: early call paths from entry points to PI-reaching calls.

An early path starts where code runs before the user can act (Application.onCreate,
a provider's onCreate, a static initialiser, a boot receiver). The path itself is
the evidence. App-owned targets are AW-CONSENT-001; SDK targets are AW-SDK-001.
"""

from __future__ import annotations

from collections.abc import Iterator

from appwarden.evidence.model import APP_OWNER, Evidence
from appwarden.findings import Confidence, Finding
from appwarden.rules.checks._common import call_path_ref, pi_names
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check

ENTRY_ZH = {
    "application_attach": "Application.attachBaseContext",
    "application_create": "Application.onCreate",
    "provider_create": "ContentProvider.onCreate（进程启动即执行）",
    "static_init": "静态初始化",
    "boot_receiver": "开机广播接收器",
    "launcher_activity_create": "启动页onCreate",
}


@check("pi_before_consent")
def pi_before_consent(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """App code on an early path reaches PI-returning APIs: collection may happen before consent."""
    for path in sorted(ev.early_paths, key=lambda p: (p.entry, p.target, p.steps)):
        if path.target_kind != "api_call" or path.owner != APP_OWNER or not path.pi_types:
            continue
        pis_zh, pis_en = pi_names(path.pi_types)
        # A launcher activity may show the consent dialog before it collects; the other entries run
        # before any UI exists.
        confidence: Confidence = "low" if path.entry_kind == "launcher_activity_create" else "medium"
        yield ctx.finding(
            message_zh=f"App在{ENTRY_ZH[path.entry_kind]}中经{len(path.steps)}层调用即获取{pis_zh}，早于用户同意隐私政策。",
            message_en=(
                f"App code reaches {pis_en} from {path.entry} ({path.entry_kind}) in {len(path.steps)} step(s), "
                "before the user can agree to the privacy policy."
            ),
            evidence=[call_path_ref(path)],
            confidence=confidence,
            key_parts=(path.entry, path.target),
        )
