"""Build appwarden's SDK catalog (src/appwarden/data/sdk/catalog.json).

Inputs: the merged upstream catalog (default /work/shared/sdk/sdk_catalog.json, built from
LibChecker-Rules, LibRadar and vendor disclosures) and appwarden's own curation
(src/appwarden/data/sdk/additions.yaml). The output is deterministic: the same inputs give
byte-identical JSON, and ``catalog_version`` is derived from the input hashes.

Usage: python tools/build_sdk_catalog.py [--upstream PATH] [--out PATH]
See src/appwarden/data/sdk/README.md for the format and the update path.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "appwarden" / "data" / "sdk"
DEFAULT_UPSTREAM = Path("/work/shared/sdk/sdk_catalog.json")
FORMAT = "appwarden-sdk-catalog"
FORMAT_VERSION = 1

# Sources whose facts we ship (see NOTICE). Per-SDK upstream statements quoted from vendor
# disclosures are not shipped (only the normalised PI types, which are facts).
_PREFIX_REGEX = re.compile(r"^\^?((?:[A-Za-z0-9_$]+(?:\\\.|\.))+)\(\.\*\)\$?$")


def regex_to_prefix(pattern: str) -> str | None:
    """Return the dotted package prefix a regex like ``com\\.foo\\.(.*)`` stands for, else None."""
    m = _PREFIX_REGEX.match(pattern)
    if not m:
        return None
    return m.group(1).replace("\\.", ".").rstrip(".")


def is_broad(prefix: str, broad_namespaces: set[str]) -> bool:
    """A prefix with one segment, or a vendor-wide namespace, never identifies an SDK alone."""
    return "." not in prefix or prefix in broad_namespaces


def _merge_list(base: list[str], extra: list[str]) -> list[str]:
    out = list(base)
    for item in extra:
        if item not in out:
            out.append(item)
    return out


def convert_upstream(entry: dict[str, Any], broad_namespaces: set[str]) -> dict[str, Any]:
    """Convert one upstream entry to the product's record."""
    code = entry.get("code_signatures") or {}
    prefixes: list[str] = []
    broad: list[str] = list(code.get("broad_prefixes") or [])
    regexes: list[str] = []
    for raw in code.get("prefixes") or []:
        if raw.endswith(".so"):  # upstream noise: library names listed as prefixes
            continue
        prefixes.append(raw)
    for rx in code.get("regex") or []:
        as_prefix = regex_to_prefix(rx)
        if as_prefix:
            prefixes.append(as_prefix)
        else:
            regexes.append(rx)
    vendor = entry.get("vendor") or {}
    native = entry.get("native_lib_signatures") or {}
    network = entry.get("network_signatures") or {}
    record: dict[str, Any] = {
        "id": entry["id"],
        "name": entry["name"],
        "name_zh": entry.get("name_zh"),
        "vendor": vendor.get("id"),
        "country": entry.get("country"),
        "categories": list(entry.get("categories") or []),
        "prefixes": prefixes,
        "broad_prefixes": broad,
        "component_regex": sorted(set(regexes)),
        "manifest_components": list(entry.get("manifest_signatures") or []),
        "native_libs": list(native.get("names") or []),
        "native_lib_regex": list(native.get("regex") or []),
        "meta_data_keys": [],
        "domains": list(network.get("domains") or []),
        "pi_declared": sorted(set(entry.get("pi_collected") or [])),
        "website": entry.get("website"),
        "sources": sorted(set(entry.get("sources") or [])),
        "evidence_source": None,
    }
    return record


def namespace_vendor(prefixes: list[str], vendor_namespaces: dict[str, str]) -> str | None:
    """The vendor owning the namespace of an SDK without a stated vendor (longest namespace wins).

    Java packages are named after their owner's reversed domain, so ``androidx.*`` is Google's and
    ``kotlinx.*`` JetBrains'; only namespaces listed in additions.yaml are trusted this way.
    """
    best: tuple[int, str] | None = None
    for prefix in prefixes:
        for namespace, vendor in vendor_namespaces.items():
            covers = prefix == namespace or prefix.startswith(namespace + ".")
            if covers and (best is None or len(namespace) > best[0]):
                best = (len(namespace), vendor)
    return best[1] if best else None


#: First package segments that are Internet top-level domains (reversed-domain package names).
_TLDS = frozenset(
    [
        "com",
        "org",
        "net",
        "io",
        "cn",
        "de",
        "uk",
        "fr",
        "jp",
        "ru",
        "me",
        "co",
        "info",
        "tv",
        "us",
        "ca",
        "au",
        "nl",
        "it",
        "es",
        "se",
        "ch",
        "at",
        "be",
        "dk",
        "fi",
        "no",
        "pl",
        "br",
        "kr",
        "in",
        "hk",
        "tw",
    ]
)


def namespace_domain(prefixes: list[str]) -> str | None:
    """The Internet domain a package namespace is named after (``com.koushikdutta.async`` ->
    ``koushikdutta.com``, ``uk.co.senab.x`` -> ``senab.co.uk``), or None."""
    for prefix in sorted(prefixes):
        parts = prefix.split(".")
        if len(parts) < 2 or parts[0] not in _TLDS:
            continue
        if parts[0] == "uk" and parts[1] == "co" and len(parts) >= 3:
            return f"{parts[2]}.co.uk"
        return f"{parts[1]}.{parts[0]}".lower()
    return None


def apply_addition(record: dict[str, Any] | None, add: dict[str, Any]) -> dict[str, Any]:
    """Merge one additions.yaml entry into an upstream record (or create a new record)."""
    if record is None:
        record = {
            "id": add["id"],
            "name": add.get("name", add["id"]),
            "name_zh": None,
            "vendor": None,
            "country": None,
            "categories": [],
            "prefixes": [],
            "broad_prefixes": [],
            "component_regex": [],
            "manifest_components": [],
            "native_libs": [],
            "native_lib_regex": [],
            "meta_data_keys": [],
            "domains": [],
            "pi_declared": [],
            "website": None,
            "sources": [],
            "evidence_source": None,
        }
    for key in ("name", "name_zh", "vendor", "country", "website"):
        if key in add:
            record[key] = add[key]
    for key in (
        "categories",
        "prefixes",
        "manifest_components",
        "native_libs",
        "meta_data_keys",
        "domains",
        "pi_declared",
    ):
        record[key] = _merge_list(record[key], list(add.get(key) or []))
    drop = set(add.get("drop_prefixes") or [])
    record["prefixes"] = [p for p in record["prefixes"] if p not in drop]
    drop_broad = set(add.get("drop_broad") or [])
    record["broad_prefixes"] = [p for p in record["broad_prefixes"] if p not in drop_broad]
    record["sources"] = _merge_list(record["sources"], ["appwarden"])
    record["evidence_source"] = add.get("evidence_source", record["evidence_source"])
    return record


def build(upstream_path: Path, additions_path: Path) -> dict[str, Any]:
    """Return the product catalog as a JSON-ready dict (deterministic for the same inputs)."""
    upstream_bytes = upstream_path.read_bytes()
    additions_bytes = additions_path.read_bytes()
    upstream = json.loads(upstream_bytes)
    additions = yaml.safe_load(additions_bytes) or {}
    broad_namespaces = set(additions.get("broad_namespaces") or [])

    records: dict[str, dict[str, Any]] = {}
    for entry in upstream["sdks"]:
        records[entry["id"]] = convert_upstream(entry, broad_namespaces)
    for add in additions.get("sdks") or []:
        records[add["id"]] = apply_addition(records.get(add["id"]), add)

    vendors: dict[str, dict[str, Any]] = {}
    for vid, v in (upstream.get("vendors") or {}).items():
        vendors[vid] = {
            "name": v.get("name"),
            "name_zh": v.get("name_zh"),
            "legal_names_zh": list(v.get("legal_names_zh") or []),
            "country": v.get("country"),
            "domains": sorted(set(v.get("domains") or [])),
        }
    # Upstream gives most vendors inline with their SDK (LibChecker's "team"), not in its vendor
    # table: keep those records too, or the SDKs would name vendors the catalog does not have.
    for entry in upstream["sdks"]:
        inline = entry.get("vendor") or {}
        if inline.get("id") and inline["id"] not in vendors:
            vendors[inline["id"]] = {
                "name": inline.get("name") or inline["id"],
                "name_zh": inline.get("name_zh"),
                "legal_names_zh": list(inline.get("legal_names_zh") or []),
                "country": inline.get("country"),
                "domains": [],
            }
    for vid, v in (additions.get("vendors") or {}).items():
        vendors.setdefault(vid, {"name": vid, "name_zh": None, "legal_names_zh": [], "country": None, "domains": []})
        vendors[vid].update({k: v[k] for k in ("name", "name_zh", "legal_names_zh", "country") if k in v})
    for vid, domains in (additions.get("vendor_domains") or {}).items():
        vendors.setdefault(vid, {"name": vid, "name_zh": None, "legal_names_zh": [], "country": None, "domains": []})
        vendors[vid]["domains"] = sorted(set(vendors[vid]["domains"]) | set(domains))

    # appwarden's curation wins: a prefix or library an addition lists leaves every other entry.
    curated_prefixes: dict[str, str] = {}
    curated_libs: dict[str, str] = {}
    for add in additions.get("sdks") or []:
        for p in add.get("prefixes") or []:
            curated_prefixes.setdefault(p, add["id"])
        for lib in add.get("native_libs") or []:
            curated_libs.setdefault(lib, add["id"])
    for sdk_id, rec in records.items():
        rec["prefixes"] = [p for p in rec["prefixes"] if curated_prefixes.get(p, sdk_id) == sdk_id]
        rec["native_libs"] = [lib for lib in rec["native_libs"] if curated_libs.get(lib, sdk_id) == sdk_id]

    vendor_namespaces: dict[str, str] = dict(additions.get("vendor_namespaces") or {})
    unknown = sorted(set(vendor_namespaces.values()) - set(vendors))
    if unknown:
        raise SystemExit(f"vendor_namespaces name vendors that are not defined: {unknown}")

    # Broad prefixes: demoted here, once, so the matcher never has to know the rule.
    claimed: dict[str, str] = {}
    for sdk_id in sorted(records):
        rec = records[sdk_id]
        keep: list[str] = []
        for p in dict.fromkeys(rec["prefixes"]):
            if is_broad(p, broad_namespaces):
                rec["broad_prefixes"] = _merge_list(rec["broad_prefixes"], [p])
            elif p in claimed:
                # Two SDKs claim one prefix: the first id (sorted) keeps it; the tie is reported.
                print(f"note: prefix {p} of {sdk_id} already claimed by {claimed[p]}", file=sys.stderr)
            else:
                claimed[p] = sdk_id
                keep.append(p)
        rec["prefixes"] = sorted(set(keep))
        rec["broad_prefixes"] = sorted(set(rec["broad_prefixes"]))
        for key in (
            "categories",
            "manifest_components",
            "native_libs",
            "native_lib_regex",
            "meta_data_keys",
            "domains",
        ):
            rec[key] = sorted(set(rec[key]))
        if not rec["vendor"]:
            rec["vendor"] = namespace_vendor(rec["prefixes"] + rec["broad_prefixes"], vendor_namespaces)
        if not rec["vendor"]:
            domain = namespace_domain(rec["prefixes"] + rec["broad_prefixes"])
            if domain:
                # Unnamed owner: the organisation holding the namespace's domain, said as such.
                rec["vendor"] = f"ns-{domain}"
                vendors.setdefault(
                    rec["vendor"],
                    {
                        "name": f"{domain} (package namespace owner)",
                        "name_zh": None,
                        "legal_names_zh": [],
                        "country": None,
                        "domains": [],
                    },
                )
        vendor = vendors.get(rec["vendor"] or "")
        if vendor and not rec["country"]:
            rec["country"] = vendor.get("country")

    init_path = additions_path.parent / "init_apis.yaml"
    init_bytes = init_path.read_bytes() if init_path.exists() else b""
    # The build's own rules (vendor inference, demotion) shape the output too.
    tool_bytes = Path(__file__).read_bytes()
    digest = hashlib.sha256(upstream_bytes + additions_bytes + init_bytes + tool_bytes).hexdigest()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "catalog_version": f"{upstream.get('generated', 'unknown')}+{digest[:12]}",
        "built_from": [
            {"file": upstream_path.name, "sha256": hashlib.sha256(upstream_bytes).hexdigest()},
            {"file": additions_path.name, "sha256": hashlib.sha256(additions_bytes).hexdigest()},
            {"file": init_path.name, "sha256": hashlib.sha256(init_bytes).hexdigest()},
        ],
        "init_apis_file": init_path.name,
        "licences": "see NOTICE and LICENSES/ beside this file",
        "vendors": {k: vendors[k] for k in sorted(vendors)},
        "sdks": [records[k] for k in sorted(records)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", type=Path, default=DEFAULT_UPSTREAM)
    parser.add_argument("--additions", type=Path, default=DATA / "additions.yaml")
    parser.add_argument("--out", type=Path, default=DATA / "catalog.json")
    args = parser.parse_args(argv)
    catalog = build(args.upstream, args.additions)
    text = json.dumps(catalog, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: {len(catalog['sdks'])} SDKs, version {catalog['catalog_version']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
