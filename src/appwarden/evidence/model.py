"""The evidence model: immutable, serialisable facts about one app version.

Evidence knows nothing of rules. It says what the APK contains and what its code
reaches, with enough provenance (class, method, file, offset) that a finding built
on it can be checked by hand with dexdump or apktool.

The JSON form is versioned by ``EVIDENCE_SCHEMA_VERSION``; the published JSON
Schema is generated from these models (``appwarden schema evidence``). Bump the
minor version when fields are added, the major when a field changes meaning.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EVIDENCE_SCHEMA_VERSION = "1.3"

#: Owner of code that is the app's own (not attributed to any catalogued SDK).
APP_OWNER = "app"


class Fact(BaseModel):
    """Base for every evidence record: frozen, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Signer(Fact):
    scheme: Literal["v1", "v2", "v3", "v3.1"]
    subject: str
    issuer: str
    serial_number: str
    sha256: str = Field(description="SHA-256 of the DER certificate, lowercase hex")
    not_before: str | None = None
    not_after: str | None = None


class Identity(Fact):
    package: str
    version_name: str | None = None
    version_code: int | None = None
    label: str | None = Field(None, description="Resolved app label (default configuration)")
    label_zh: str | None = Field(None, description="Label from a zh configuration when present")
    min_sdk: int | None = None
    target_sdk: int | None = None
    apk_sha256: str
    apk_size: int
    signers: list[Signer] = Field(default_factory=list)


class Permission(Fact):
    name: str
    protection_level: str | None = Field(None, description="normal, dangerous, signature... None if unknown")
    dangerous: bool = False
    pi_types: list[str] = Field(default_factory=list, description="PI types (regs/pi_types ids) it gives access to")
    max_sdk_version: int | None = None
    custom: bool = Field(False, description="Defined by the app itself (<permission>)")


class ImpliedPermission(Fact):
    """A permission the platform adds to the ones an app requests (a split or new permission).

    Android grants an app that targets an older API what a permission it requests was split
    into later: an app targeting API 28 that asks for location also gets background location
    on Android 10 and later, without asking for it.
    """

    name: str
    implied_by: str | None = Field(
        None,
        description="The requested (or itself implied) permission the platform splits into this one; None for "
        "the permissions every app targeting below target_sdk_below gets (API 4's new permissions)",
    )
    target_sdk_below: int | None = Field(
        None, description="Implied because the app targets an API level below this; None: whatever it targets"
    )
    max_sdk_version: int | None = Field(
        None, description="The maxSdkVersion of the request it comes from: only implied on platforms up to it"
    )
    protection_level: str | None = None
    dangerous: bool = False
    pi_types: list[str] = Field(default_factory=list, description="PI types (regs/pi_types ids) it gives access to")


class IntentFilter(Fact):
    actions: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    data_schemes: list[str] = Field(default_factory=list)
    priority: int | None = None


ComponentKind = Literal["activity", "activity-alias", "service", "receiver", "provider"]


class Component(Fact):
    kind: ComponentKind
    name: str = Field(description="Fully qualified class name")
    exported: bool = Field(description="Effective exported state (explicit, or implied by intent filters)")
    exported_explicit: bool | None = None
    enabled: bool = True
    permission: str | None = None
    process: str | None = None
    authorities: list[str] = Field(default_factory=list)
    intent_filters: list[IntentFilter] = Field(default_factory=list)
    wake_up_actions: list[str] = Field(
        default_factory=list, description="Broadcast actions that start the app without the user (boot, network...)"
    )
    init_order: int | None = Field(None, description="android:initOrder of providers (auto-init ordering)")
    owner: str = Field(APP_OWNER, description="'app' or the id of the SDK whose namespace the class is in")


class MetaData(Fact):
    name: str
    value: str | None = None
    resource: str | None = None
    scope: str = Field("application", description="'application' or the component name it sits under")
    owner: str = APP_OWNER


class SdkEvidence(Fact):
    kind: Literal["package_prefix", "class", "native_lib", "manifest_component", "meta_data", "asset"]
    value: str
    detail: str | None = None


class SdkMatch(Fact):
    id: str
    name: str
    name_zh: str | None = None
    vendor: str | None = None
    vendor_zh: str | None = None
    country: str | None = None
    categories: list[str] = Field(default_factory=list)
    pi_declared_by_vendor: list[str] = Field(
        default_factory=list, description="PI types the vendor's public disclosure says the SDK collects"
    )
    evidence: list[SdkEvidence] = Field(default_factory=list)
    class_count: int = 0
    initialised: bool = Field(False, description="App code or manifest starts the SDK (init call, provider, key)")
    called: bool = Field(False, description="App code calls into the SDK's classes")
    init_evidence: list[str] = Field(default_factory=list, description="Call sites or components that start it")
    reaches_pi: list[str] = Field(default_factory=list, description="PI types its own code reaches (from api_calls)")


class CallSite(Fact):
    caller_class: str = Field(description="Dotted class name of the calling method")
    caller_method: str = Field(description="Method name and descriptor, e.g. onCreate(Landroid/os/Bundle;)V")
    dex: str = Field(description="Which classes*.dex the caller is in")
    offset: int = Field(description="Code-unit offset of the instruction inside the method")


class ApiCall(Fact):
    api: str = Field(description="DEX descriptor of the API, field or the content URI / string constant")
    kind: Literal["invoke", "field", "content_uri", "string", "class_any"]
    pi_types: list[str]
    owner: str = Field(description="'app' or an SDK id, attributed by the caller's package")
    caller_class: str
    caller_method: str
    dex: str
    offset: int
    confidence: Literal["high", "medium", "low"] = "high"


class Endpoint(Fact):
    url: str
    host: str
    scheme: str
    owner: str = APP_OWNER
    source: str = Field(description="Where it was found: 'dex:<class>' or 'res:<path>' / 'asset:<path>'")
    third_party: bool | None = Field(None, description="Host belongs to a known SDK vendor, not the operator")
    sdk: str | None = Field(None, description="SDK whose vendor domain this host is, when known")


class BundledPolicy(Fact):
    path: str
    size: int
    sha256: str
    media_type: str
    title: str | None = None


class ConsentString(Fact):
    source: str = Field(description="res string name or asset path")
    text: str


class PrivacyPolicySignals(Fact):
    bundled_documents: list[BundledPolicy] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)
    consent_strings: list[ConsentString] = Field(default_factory=list)

    @property
    def has_consent_dialog(self) -> bool:
        return bool(self.consent_strings)


class Packer(Fact):
    id: str
    name: str
    evidence: list[str]


class Hardening(Fact):
    packers: list[Packer] = Field(default_factory=list)
    dynamic_code_loading: list[CallSite] = Field(default_factory=list)
    encrypted_dex_assets: list[str] = Field(default_factory=list)
    reflection_call_count: int = 0

    @property
    def hides_code(self) -> bool:
        return bool(self.packers or self.encrypted_dex_assets)


class CallPath(Fact):
    """A path through the call graph from an entry point to a call site.

    Used for "runs before the user can act" facts: the entry point is an early
    lifecycle method (Application.onCreate, a provider's onCreate, a static
    initialiser, a boot receiver's onReceive) and the target is a PI-reaching
    API call or an SDK initialisation.
    """

    entry_kind: Literal[
        "application_attach",
        "application_create",
        "provider_create",
        "static_init",
        "boot_receiver",
        "launcher_activity_create",
    ]
    entry: str = Field(description="Class->method of the entry point")
    steps: list[str] = Field(description="Class->method frames from entry to the caller, inclusive")
    target: str = Field(description="API descriptor, or SDK class->method for an SDK initialisation")
    target_kind: Literal["api_call", "sdk_init"]
    pi_types: list[str] = Field(default_factory=list)
    owner: str = Field(description="Owner of the final caller ('app' or SDK id)")
    sdk: str | None = Field(None, description="For sdk_init, the SDK started")


class DexSummary(Fact):
    name: str
    size: int
    version: str
    class_count: int
    method_count: int
    string_count: int


class NativeLib(Fact):
    path: str
    abi: str
    name: str
    size: int
    owner: str = APP_OWNER


class ParseWarning(Fact):
    """A problem that did not stop the scan but may hide evidence."""

    code: str
    message: str
    where: str | None = None


class Evidence(Fact):
    schema_version: str = EVIDENCE_SCHEMA_VERSION
    engine_version: str
    sdk_catalog_version: str | None = Field(None, description="Version of the SDK catalog the SDK facts come from")
    identity: Identity
    permissions: list[Permission] = Field(default_factory=list)
    implied_permissions: list[ImpliedPermission] = Field(
        default_factory=list,
        description="Permissions the platform adds to the requested ones (AOSP split permissions), by name",
    )
    components: list[Component] = Field(default_factory=list)
    meta_data: list[MetaData] = Field(default_factory=list)
    sdks: list[SdkMatch] = Field(default_factory=list)
    api_calls: list[ApiCall] = Field(default_factory=list)
    early_paths: list[CallPath] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    privacy_policy: PrivacyPolicySignals = Field(default_factory=PrivacyPolicySignals)
    hardening: Hardening = Field(default_factory=Hardening)
    native_libs: list[NativeLib] = Field(default_factory=list)
    dex_files: list[DexSummary] = Field(default_factory=list)
    application_class: str | None = None
    uses_features: list[str] = Field(default_factory=list)
    resource_texts: list[str] = Field(
        default_factory=list,
        description="The app's own Chinese string resources (default and zh locales; library strings left out), "
        "short values only, sorted and capped: what the app says it does, for app-type inference",
    )
    warnings: list[ParseWarning] = Field(default_factory=list)

    @classmethod
    def without_app(cls) -> Evidence:
        """The facts of no app: what the policy checks see when a policy is judged by itself.

        Nothing is requested, embedded or reached, so only what the policy itself
        says decides which disclosures it must make.
        """
        return cls(engine_version="", identity=Identity(package="", apk_sha256="", apk_size=0))

    def sdk(self, sdk_id: str) -> SdkMatch | None:
        return next((s for s in self.sdks if s.id == sdk_id), None)

    def permission_names(self) -> set[str]:
        return {p.name for p in self.permissions}

    def pi_reached(self) -> set[str]:
        """PI types reachable through requested or implied permissions, or API call sites.

        Implied permissions count: the platform grants them with the requested ones (an app
        targeting API 28 that asks for location can track it in the background on Android 10+).
        """
        reached: set[str] = set()
        for p in self.permissions:
            reached.update(p.pi_types)
        for implied in self.implied_permissions:
            reached.update(implied.pi_types)
        for c in self.api_calls:
            reached.update(c.pi_types)
        return reached
