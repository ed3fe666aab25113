"""Labels of the human-readable reports in Chinese and English.

Every word a report prints that is not data goes through ``label``: the HTML
report, the XLSX summary and the SARIF texts read the same tables, so a term is
translated once. Chinese is the default language (reports go to Chinese
regulators and operators); English is for developers and reviewers abroad.

Names of standards documents and PI types come from the packaged standards data
(``data/regs``), so the report calls a document by the title printed on it.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

from appwarden.errors import ConfigurationError

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "report_title": "App个人信息保护技术检测报告",
        "report_subtitle": "静态技术检测结果（依据所列标准与规范性文件）",
        "section_identity": "一、被检测App",
        "section_versions": "二、检测工具与规则版本",
        "section_app_type": "三、App类型判定",
        "section_summary": "四、检测结果汇总",
        "section_findings": "五、问题详情",
        "section_undecided": "六、未能判定的规则",
        "section_not_implemented": "七、本次未执行的检测项",
        "section_notes": "说明",
        "app_label": "App名称",
        "package": "包名",
        "version": "版本",
        "version_code": "版本号(versionCode)",
        "sdk_levels": "最低/目标SDK版本",
        "apk_sha256": "APK文件SHA-256",
        "apk_size": "APK文件大小（字节）",
        "signer": "签名证书",
        "signer_sha256": "签名证书SHA-256",
        "signer_schemes": "签名方案",
        "no_signer": "未发现签名证书",
        "engine_version": "检测引擎版本",
        "catalog_version": "规则目录版本",
        "schema_version": "报告格式版本",
        "sdk_catalog_version": "SDK特征库版本",
        "run_started": "检测开始时间",
        "run_finished": "检测结束时间",
        "run_duration": "检测耗时（秒）",
        "declared_type": "申报类型",
        "decided_type": "判定类型",
        "inferred_types": "推断候选",
        "decision_reason": "判定理由",
        "type_undecided": "未判定（不据此认定最小必要问题）",
        "none": "无",
        "unknown": "未知",
        "total": "合计",
        "by_severity": "按严重程度",
        "by_focus_area": "按问题类型（专项整治重点）与严重程度",
        "by_owner": "按责任主体（App自身或第三方SDK）",
        "findings_count": "问题数",
        "no_findings": "本次检测未发现问题。",
        "rule_id": "规则编号",
        "also_rules": "同一问题亦违反",
        "rule_title": "规则名称",
        "severity": "严重程度",
        "confidence": "置信度",
        "technique": "检测方法",
        "focus_area": "问题类型",
        "owner": "责任主体",
        "sdk_vendor": "SDK提供方",
        "basis": "判定依据",
        "basis_document": "文件",
        "basis_clause": "条款",
        "basis_ref": "目录编号",
        "message": "问题描述",
        "evidence": "证据",
        "advice": "整改建议",
        "fingerprint": "问题指纹",
        "reason": "原因",
        "app_owner": "App自身代码",
        "not_implemented_intro": "以下检测项本次未执行：它们需要本次未使用的检测方法（动态检测、隐私政策文本、应用商店信息或人工核查），或尚无自动检测实现。本报告对其不作结论，未列为问题不代表合规：",
        "undecided_intro": "以下规则因证据不足未作结论，并非认定合规：",
        "notes_text": "本报告基于对APK文件的静态分析。置信度表示证据对结论的支持程度；“低”置信度的问题须经人工或动态检测复核后方可作为执法依据。证据中的类名、方法名与偏移量可用dexdump、apktool等工具复核。",
        "generated_by": "由 appwarden 生成",
        "call_path": "调用路径",
        "call_site": "调用位置",
        "caller": "调用者",
        "api": "调用的API",
        "dex_offset": "DEX文件与偏移",
        "pi_types": "涉及个人信息",
        "entry_point": "入口",
        "sdk": "SDK",
        "matched_by": "识别依据",
        "initialised": "已初始化",
        "called": "被调用",
        "init_evidence": "初始化位置",
        "reaches_pi": "其代码可获取",
        "component": "组件",
        "exported": "已导出",
        "wake_up_actions": "唤醒广播",
        "actions": "Intent动作",
        "permission": "权限",
        "protection_level": "保护级别",
        "endpoint": "网络地址",
        "source": "出处",
        "third_party": "第三方",
        "yes": "是",
        "no": "否",
        "apps": "应用",
        "findings": "问题",
        "sdks": "SDK",
        "max_severity": "最高严重程度",
        "app": "App",
        "sdk_name": "SDK名称",
        "sdk_id": "SDK标识",
        "vendor": "提供方",
        "categories": "类别",
        "app_count": "App数量",
        "app_list": "包含该SDK的App",
        "initialised_in": "初始化的App数",
        "title": "标题",
        "other_focus_area": "其他问题",
        "kind": "类型",
        "detail": "详情",
        "undecided_count": "未判定规则数",
        "not_implemented_count": "未执行检测项数",
        "policy_summary": "隐私政策分析摘要",
    },
    "en": {
        "report_title": "App Personal Information Protection — Technical Test Report",
        "report_subtitle": "Static technical test results against the standards and documents cited",
        "section_identity": "1. App tested",
        "section_versions": "2. Tool and rule versions",
        "section_app_type": "3. App type decision",
        "section_summary": "4. Summary of results",
        "section_findings": "5. Findings",
        "section_undecided": "6. Rules that could not be decided",
        "section_not_implemented": "7. Checks not run in this test",
        "section_notes": "Notes",
        "app_label": "App name",
        "package": "Package",
        "version": "Version",
        "version_code": "Version code",
        "sdk_levels": "Min / target SDK",
        "apk_sha256": "APK SHA-256",
        "apk_size": "APK size (bytes)",
        "signer": "Signing certificate",
        "signer_sha256": "Certificate SHA-256",
        "signer_schemes": "Signature schemes",
        "no_signer": "no signing certificate found",
        "engine_version": "Engine version",
        "catalog_version": "Rule catalog version",
        "schema_version": "Report format version",
        "sdk_catalog_version": "SDK catalog version",
        "run_started": "Test started",
        "run_finished": "Test finished",
        "run_duration": "Duration (s)",
        "declared_type": "Declared type",
        "decided_type": "Type judged against",
        "inferred_types": "Inferred candidates",
        "decision_reason": "Reason",
        "type_undecided": "undecided (no minimum-necessary conclusion drawn from the type)",
        "none": "none",
        "unknown": "unknown",
        "total": "Total",
        "by_severity": "By severity",
        "by_focus_area": "By problem type (campaign focus area) and severity",
        "by_owner": "By responsible party (the app's own code or a third-party SDK)",
        "findings_count": "Findings",
        "no_findings": "No findings in this test.",
        "rule_id": "Rule",
        "also_rules": "The same problem under",
        "rule_title": "Rule title",
        "severity": "Severity",
        "confidence": "Confidence",
        "technique": "Technique",
        "focus_area": "Problem type",
        "owner": "Responsible party",
        "sdk_vendor": "SDK vendor",
        "basis": "Legal basis",
        "basis_document": "Document",
        "basis_clause": "Clause",
        "basis_ref": "Catalog ref",
        "message": "Description",
        "evidence": "Evidence",
        "advice": "Advice",
        "fingerprint": "Fingerprint",
        "reason": "Reason",
        "app_owner": "the app's own code",
        "not_implemented_intro": "These checks were not run: they need a technique not used in this test (runtime trace, policy text, store listing or manual review), or have no automated check yet. This report draws no conclusion on them; their absence from the findings is not a finding of compliance:",
        "undecided_intro": "These rules were not decided for lack of evidence; that is not a finding of compliance:",
        "notes_text": "This report rests on static analysis of the APK file. Confidence says how strongly the evidence supports the conclusion; a low-confidence finding must be confirmed by manual or runtime testing before it is relied on. Class names, methods and offsets in the evidence can be checked with dexdump or apktool.",
        "generated_by": "generated by appwarden",
        "call_path": "Call path",
        "call_site": "Call site",
        "caller": "Caller",
        "api": "API called",
        "dex_offset": "DEX file and offset",
        "pi_types": "PI involved",
        "entry_point": "Entry point",
        "sdk": "SDK",
        "matched_by": "Matched by",
        "initialised": "Initialised",
        "called": "Called",
        "init_evidence": "Started at",
        "reaches_pi": "Its code reaches",
        "component": "Component",
        "exported": "Exported",
        "wake_up_actions": "Wake-up broadcasts",
        "actions": "Intent actions",
        "permission": "Permission",
        "protection_level": "Protection level",
        "endpoint": "Network endpoint",
        "source": "Found in",
        "third_party": "Third party",
        "yes": "yes",
        "no": "no",
        "apps": "Apps",
        "findings": "Findings",
        "sdks": "SDKs",
        "max_severity": "Max severity",
        "app": "App",
        "sdk_name": "SDK name",
        "sdk_id": "SDK id",
        "vendor": "Vendor",
        "categories": "Categories",
        "app_count": "Number of apps",
        "app_list": "Apps embedding it",
        "initialised_in": "Apps that initialise it",
        "title": "Title",
        "other_focus_area": "Other problems",
        "kind": "Kind",
        "detail": "Detail",
        "undecided_count": "Undecided rules",
        "not_implemented_count": "Checks not run",
        "policy_summary": "Privacy policy analysis",
    },
}

SEVERITY_LABELS: dict[str, dict[str, str]] = {
    "zh": {"critical": "严重", "high": "高", "medium": "中", "low": "低", "info": "提示"},
    "en": {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "info": "info"},
}

CONFIDENCE_LABELS: dict[str, dict[str, str]] = {
    "zh": {"high": "高", "medium": "中", "low": "低"},
    "en": {"high": "high", "medium": "medium", "low": "low"},
}

TECHNIQUE_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "STATIC": "静态检测",
        "POLICY": "隐私政策文本检测",
        "DYNAMIC": "动态检测",
        "STORE": "应用商店信息检测",
        "MANUAL": "人工核查",
    },
    "en": {
        "STATIC": "static analysis",
        "POLICY": "privacy-policy text",
        "DYNAMIC": "runtime testing",
        "STORE": "store listing",
        "MANUAL": "manual review",
    },
}

#: Focus areas of the special rectification campaigns (regs/violations.yaml -> meta.focus_areas).
FOCUS_AREA_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "FA1": "工具类、通信类App",
        "FA2": "欺骗误导、诱导下载",
        "FA3": "弹窗关不掉、乱跳转",
        "FA4": "违规共享个人信息",
        "FA5": "第三方SDK侵害用户权益",
    },
    "en": {
        "FA1": "Tool and communication apps",
        "FA2": "Deceptive or inducing downloads",
        "FA3": "Hard-to-close pop-ups",
        "FA4": "Illegal sharing of personal information",
        "FA5": "Third-party SDKs harming user rights",
    },
}

EVIDENCE_KIND_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "permission": "权限",
        "api_call": "敏感API调用",
        "sdk": "第三方SDK",
        "component": "组件",
        "meta_data": "元数据",
        "string": "字符串",
        "call_path": "调用路径",
        "endpoint": "网络地址",
        "policy_sentence": "隐私政策语句",
        "policy_absence": "隐私政策缺失",
        "trace_event": "运行时记录",
        "store_listing": "应用商店信息",
        "app_type": "App类型",
        "hardening": "加固/动态加载",
    },
    "en": {
        "permission": "Permission",
        "api_call": "Sensitive API call",
        "sdk": "Third-party SDK",
        "component": "Component",
        "meta_data": "Meta-data",
        "string": "String",
        "call_path": "Call path",
        "endpoint": "Network endpoint",
        "policy_sentence": "Policy sentence",
        "policy_absence": "Privacy policy absent",
        "trace_event": "Runtime trace event",
        "store_listing": "Store listing",
        "app_type": "App type",
        "hardening": "Hardening / dynamic loading",
    },
}

#: Keys of ScanReport.policy (the policy analysis summary); unknown keys are printed as they are.
POLICY_FIELD_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "source": "来源",
        "format": "文件格式",
        "encoding": "字符编码",
        "sha256": "文件SHA-256",
        "title": "标题",
        "sentences": "句子数",
        "sections": "章节数",
        "covered": "已覆盖的告知内容",
        "missing": "缺失的告知内容",
        "operator": "运营者",
        "pi_types": "声明收集的个人信息",
        "sdks": "声明的第三方SDK",
        "model_version": "分类模型版本",
    },
    "en": {
        "source": "Source",
        "format": "File format",
        "encoding": "Encoding",
        "sha256": "File SHA-256",
        "title": "Title",
        "sentences": "Sentences",
        "sections": "Sections",
        "covered": "Disclosures present",
        "missing": "Disclosures missing",
        "operator": "Operator",
        "pi_types": "PI declared as collected",
        "sdks": "Third-party SDKs declared",
        "model_version": "Classifier version",
    },
}

ENTRY_KIND_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "application_attach": "Application.attachBaseContext",
        "application_create": "Application.onCreate",
        "provider_create": "ContentProvider.onCreate",
        "static_init": "静态初始化",
        "boot_receiver": "开机广播接收器",
        "launcher_activity_create": "启动页onCreate",
    },
    "en": {
        "application_attach": "Application.attachBaseContext",
        "application_create": "Application.onCreate",
        "provider_create": "ContentProvider.onCreate",
        "static_init": "static initialiser",
        "boot_receiver": "boot receiver",
        "launcher_activity_create": "launcher activity onCreate",
    },
}


def check_lang(lang: str) -> Lang:
    """``lang`` as a supported language; ConfigurationError names the supported ones."""
    if lang == "zh":
        return "zh"
    if lang == "en":
        return "en"
    raise ConfigurationError(f"unsupported report language {lang!r}; use one of: {', '.join(LANGS)}")


def label(key: str, lang: Lang) -> str:
    """The printed label for ``key``; a missing key is a bug, so it raises KeyError."""
    return LABELS[lang][key]


def _named(table: dict[str, dict[str, str]], key: str | None, lang: Lang) -> str:
    if key is None:
        return LABELS[lang]["none"]
    return table[lang].get(key, key)


def severity_label(severity: str, lang: Lang) -> str:
    return _named(SEVERITY_LABELS, severity, lang)


def confidence_label(confidence: str, lang: Lang) -> str:
    return _named(CONFIDENCE_LABELS, confidence, lang)


def technique_label(technique: str, lang: Lang) -> str:
    return _named(TECHNIQUE_LABELS, technique, lang)


def focus_area_label(focus_area: str | None, lang: Lang) -> str:
    if focus_area is None:
        return LABELS[lang]["other_focus_area"]
    return _named(FOCUS_AREA_LABELS, focus_area, lang)


def evidence_kind_label(kind: str, lang: Lang) -> str:
    return _named(EVIDENCE_KIND_LABELS, kind, lang)


def entry_kind_label(kind: str, lang: Lang) -> str:
    return _named(ENTRY_KIND_LABELS, kind, lang)


def _regs_yaml(name: str) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = (resources.files("appwarden") / "data" / "regs" / name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=loader)


@lru_cache(maxsize=1)
def document_titles() -> dict[str, str]:
    """Standards document key (TAF078.6, RDM...) -> the title printed on the document."""
    documents = (_regs_yaml("violations.yaml").get("meta") or {}).get("documents") or {}
    # Titles in the data may carry an editor's note after " — " (about the source copy); a notice
    # quotes the document's own title only.
    return {
        str(key): str(doc.get("title") or key).split(" — ", 1)[0].strip()
        for key, doc in documents.items()
        if isinstance(doc, dict)
    }


@lru_cache(maxsize=1)
def _pi_type_names() -> dict[str, tuple[str, str]]:
    types = _regs_yaml("pi_types.yaml").get("pi_types") or []
    return {
        str(t["id"]): (str(t.get("name_zh") or t["id"]), str(t.get("name_en") or t["id"]))
        for t in types
        if isinstance(t, dict) and "id" in t
    }


def pi_type_label(pi_type: str, lang: Lang) -> str:
    """The PI type's name in ``lang``, or its id when the taxonomy does not know it."""
    names = _pi_type_names().get(pi_type)
    if names is None:
        return pi_type
    return names[0] if lang == "zh" else names[1]


@lru_cache(maxsize=1)
def _app_type_names() -> dict[str, tuple[str, str]]:
    types = _regs_yaml("app_types.yaml").get("app_types") or []
    return {
        str(t["id"]): (str(t.get("name_zh") or t["id"]), str(t.get("name_en") or t["id"]))
        for t in types
        if isinstance(t, dict) and "id" in t
    }


def app_type_label(app_type: str, lang: Lang) -> str:
    """The app type's name in ``lang`` followed by its id, or the id alone when unknown."""
    names = _app_type_names().get(app_type)
    if names is None:
        return app_type
    return f"{names[0] if lang == 'zh' else names[1]} ({app_type})"
