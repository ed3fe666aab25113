"""Network endpoints found in code constants, string resources and text assets.

Each endpoint keeps where it was found and who owns that place (the SDK whose namespace the
class is in, or 'app'), and whether its host belongs to a catalogued SDK vendor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from appwarden.evidence.catalogs import SdkCatalog
from appwarden.evidence.model import APP_OWNER, Endpoint

URL_PATTERN = re.compile(
    r"\b(?:(?:https?|wss?)://|file:///android_(?:asset|res)/)[A-Za-z0-9\-._~%!$&'()*+,;=:@/?#\[\]]+", re.ASCII
)
#: Bundled pages a WebView shows (file:///android_asset/...): kept, with an empty host.
LOCAL_PAGE_PREFIXES = ("file:///android_asset/", "file:///android_res/")

#: Hosts that appear in nearly every APK as namespaces or licence links, not as endpoints.
IGNORED_HOST_SUFFIXES: tuple[str, ...] = (
    "schemas.android.com",
    "w3.org",
    "apache.org",
    "xmlpull.org",
    "ns.adobe.com",
    "purl.org",
    "xml.org",
    "opensource.org",
    "gnu.org",
    "json-schema.org",
    "example.com",
    "example.org",
    "localhost",
)

#: At most this many endpoints are recorded (a hostile DEX may hold millions of URL strings).
MAX_ENDPOINTS = 5000

#: Assets larger than this are not searched for URLs (bounded work on hostile APKs).
MAX_ASSET_BYTES = 512 * 1024
#: At most this many assets are searched.
MAX_ASSETS = 400
#: Asset name endings treated as text.
TEXT_ASSET_SUFFIXES: tuple[str, ...] = (
    ".json",
    ".txt",
    ".xml",
    ".html",
    ".htm",
    ".js",
    ".properties",
    ".cfg",
    ".conf",
    ".ini",
    ".yaml",
    ".yml",
    ".csv",
    ".md",
)


def _host_ignored(host: str) -> bool:
    return any(host == s or host.endswith("." + s) for s in IGNORED_HOST_SUFFIXES)


def find_urls(text: str) -> list[str]:
    """URLs in a text, trailing punctuation trimmed; schema/licence hosts skipped."""
    urls: list[str] = []
    for m in URL_PATTERN.finditer(text):
        url = m.group(0).rstrip(".,;:!?)]'\"")
        if url.startswith(LOCAL_PAGE_PREFIXES):
            if len(url) > len("file:///android_asset/"):
                urls.append(url)
            continue
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            continue
        if not host or ("." not in host and host != "localhost") or _host_ignored(host):
            continue
        urls.append(url)
    return urls


@dataclass(frozen=True)
class DomainOwner:
    vendor: str | None
    sdk: str | None


class DomainIndex:
    """Maps a host to the SDK / vendor whose domain it is (suffix match on dot boundaries)."""

    def __init__(self, catalog: SdkCatalog, detected_sdks: Iterable[str] = ()) -> None:
        detected = sorted(set(detected_sdks))
        by_id = catalog.by_id()
        self._domains: dict[str, DomainOwner] = {}
        for vendor in catalog.vendors.values():
            # A vendor domain is attributed to the vendor's SDK found in this app, when there is one.
            sdk = next((s for s in detected if by_id[s].vendor == vendor.id), None) if detected else None
            for d in vendor.domains:
                self._domains.setdefault(d.lower(), DomainOwner(vendor.id, sdk))
        for sdk_def in catalog.sdks:
            for d in sdk_def.domains:
                # SDK-specific domains win over vendor-wide ones.
                self._domains[d.lower()] = DomainOwner(sdk_def.vendor, sdk_def.id)

    def owner(self, host: str) -> DomainOwner | None:
        host = host.lower().rstrip(".")
        parts = host.split(".")
        for i in range(len(parts) - 1):
            hit = self._domains.get(".".join(parts[i:]))
            if hit is not None:
                return hit
        return None


def make_endpoint(url: str, owner: str, source: str, domains: DomainIndex, app_package: str = "") -> Endpoint | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if not host and not url.startswith(LOCAL_PAGE_PREFIXES):
        return None
    hit = domains.owner(host) if host else None
    third_party: bool | None = None
    sdk: str | None = None
    if hit is not None:
        sdk = hit.sdk
        third_party = True
        # The operator's own vendor (com.baidu.* calling baidu.com) is not a third party.
        pkg_parts = app_package.split(".")
        if hit.vendor and len(pkg_parts) > 1 and pkg_parts[1] == hit.vendor and owner == APP_OWNER:
            third_party = False
    return Endpoint(
        url=url, host=host, scheme=parts.scheme.lower(), owner=owner, source=source, third_party=third_party, sdk=sdk
    )


def collect_endpoints(
    *,
    code_strings: Iterable[tuple[str, str, str]],
    resource_strings: Mapping[str, str],
    asset_texts: Iterable[tuple[str, str]],
    domains: DomainIndex,
    app_package: str = "",
) -> list[Endpoint]:
    """Endpoints from (class, owner, constant) code strings, res strings and (path, text) assets.

    One record per (url, source); sorted by url then source.
    """
    found: dict[tuple[str, str], Endpoint] = {}

    def add(url: str, owner: str, source: str) -> None:
        if (url, source) in found or len(found) >= MAX_ENDPOINTS:
            return
        ep = make_endpoint(url, owner, source, domains, app_package)
        if ep is not None:
            found[(url, source)] = ep

    for class_name, owner, text in code_strings:
        if "://" in text:
            for url in find_urls(text):
                add(url, owner, f"dex:{class_name}")
    for name, text in resource_strings.items():
        if "://" in text:
            for url in find_urls(text):
                add(url, APP_OWNER, f"res:string/{name}")
    for path, text in asset_texts:
        for url in find_urls(text):
            add(url, APP_OWNER, f"asset:{path}")
    return [found[k] for k in sorted(found)]
