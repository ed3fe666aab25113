"""Hostile and malformed requests, upload limits, idempotency keys, pagination, the error format."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.apikit import LiveServer, add_user, live_server, wait_scan
from appwarden.governance.jobs import ThreadExecutor
from appwarden.governance.models import Role
from governance.govkit import FINDINGS, Database, credit_code, fake_apk, fake_scan_apk, open_database


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, Database]]:
    for database in open_database("sqlite", tmp_path, max_upload_bytes=64 * 1024, max_json_bytes=32 * 1024):
        executor = ThreadExecutor(fake_scan_apk, workers=1)
        for srv in live_server(database, executor):
            yield srv, database


def assert_error(response: httpx.Response, status: int, code: str) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "detail"}
    assert body["error"]["code"] == code, body
    assert "Traceback" not in response.text
    return body


def test_oversized_upload_is_refused(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    lab = srv.client("lab")
    big = b"PK" + b"\0" * (2 * 1024 * 1024)
    assert_error(lab.post("/scans", files={"apk": ("big.apk", big)}), 413, "payload_too_large")
    # Within the multipart slack but over the APK limit: refused while streaming to storage.
    assert_error(lab.post("/scans", files={"apk": ("big.apk", b"x" * (100 * 1024))}), 413, "payload_too_large")
    assert not list((tmp_path / "apks").glob("**/*.apk"))


def test_chunked_body_without_length_is_limited(server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    reg = srv.client("regulator")

    def chunks() -> Iterator[bytes]:
        yield b'{"case_ids": ['
        for _ in range(40):
            yield b"1," * 1000
        yield b"1]}"

    response = reg.post("/notices/public-list", content=chunks(), headers={"content-type": "application/json"})
    assert_error(response, 413, "payload_too_large")


def test_malformed_requests(server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    reg = srv.client("regulator")
    assert_error(
        reg.post("/stores", content=b"{not json", headers={"content-type": "application/json"}), 422, "validation_error"
    )
    assert_error(reg.post("/stores", json={"code": "x"}), 422, "validation_error")
    assert_error(reg.post("/stores", json={"code": "Bad Code!", "name": "n"}), 400, "invalid_input")
    assert_error(
        reg.post("/operators", json={"legal_name": "x", "credit_code": "91350100M000100Y44"}), 400, "invalid_input"
    )
    assert_error(reg.get("/cases/abc"), 422, "validation_error")
    assert_error(reg.get("/cases/999"), 404, "not_found")
    assert_error(reg.get("/no-such-endpoint"), 404, "not_found")
    assert_error(reg.delete("/cases"), 405, "method_not_allowed")
    assert_error(reg.get("/cases", params={"limit": 0}), 422, "validation_error")
    assert_error(reg.get("/stats/funnel", params={"by": "colour"}), 422, "validation_error")
    assert_error(reg.post("/cases", json={"scan_id": 10**30}), 422, "validation_error")
    assert_error(
        reg.post("/scans", content=b"--xx\r\ngarbage", headers={"content-type": "multipart/form-data; boundary=xx"}),
        422,
        "validation_error",
    )
    lab = srv.client("lab")
    assert_error(lab.post("/scans", files={"apk": ("empty.apk", b"")}), 400, "invalid_input")


def test_store_metadata_is_validated(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv, database = server
    reg = srv.client("regulator")
    store_id = reg.post("/stores", json={"code": "s", "name": "S"}).json()["id"]
    srv.tokens["store"] = add_user(database, "store-bot", Role.STORE, store_id=store_id)
    store = srv.client("store")
    apk = fake_apk(tmp_path, "com.example.x").read_bytes()
    for bad in ("not json", json.dumps({"name": "x"}), json.dumps([1, 2])):
        r = store.post(f"/stores/{store_id}/reviews", files={"apk": ("a.apk", apk)}, data={"metadata": bad})
        assert_error(r, 400, "invalid_input")
    meta = {"name": "X", "developer": "D", "operator_name": "O", "operator_credit_code": "91350100M000100Y44"}
    r = store.post(f"/stores/{store_id}/reviews", files={"apk": ("a.apk", apk)}, data={"metadata": json.dumps(meta)})
    assert_error(r, 400, "invalid_input")
    assert "check digit" in r.json()["error"]["message"]


def test_idempotent_uploads(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    lab = srv.client("lab")
    apk = fake_apk(tmp_path, "com.example.idem", findings=FINDINGS).read_bytes()
    first = lab.post("/scans", files={"apk": ("a.apk", apk)}, headers={"Idempotency-Key": "k1"})
    again = lab.post("/scans", files={"apk": ("a.apk", apk)}, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and again.headers["idempotent-replay"] == "true"
    other = fake_apk(tmp_path, "com.example.other").read_bytes()
    assert_error(
        lab.post("/scans", files={"apk": ("b.apk", other)}, headers={"Idempotency-Key": "k1"}),
        409,
        "idempotency_mismatch",
    )
    fresh = lab.post("/scans", files={"apk": ("a.apk", apk)}, headers={"Idempotency-Key": "k2"})
    assert fresh.json()["id"] != first.json()["id"]
    assert len(lab.get("/scans").json()["items"]) == 2
    done = wait_scan(lab, f"/scans/{first.json()['id']}")
    assert done["verdict"] == "fail" and {f["rule_id"] for f in done["findings"]} == {
        "AW-PERM-001",
        "AW-SDK-001",
        "AW-INFO-1",
    }


def test_pagination(server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    reg = srv.client("regulator")
    for n in range(7):
        assert (
            reg.post("/operators", json={"legal_name": f"O{n}", "credit_code": credit_code(100 + n)}).status_code == 201
        )
    page = reg.get("/operators", params={"limit": 3, "offset": 2}).json()
    assert page["total"] == 7 and page["limit"] == 3 and page["offset"] == 2
    assert [o["legal_name"] for o in page["items"]] == ["O2", "O3", "O4"]
    capped = reg.get("/operators", params={"limit": 10**6}).json()
    assert capped["limit"] == 200 and len(capped["items"]) == 7


def test_failed_scan_is_reported(tmp_path: Path) -> None:
    from governance.govkit import failing_scan_apk

    for database in open_database("sqlite", tmp_path):
        for srv in live_server(database, ThreadExecutor(failing_scan_apk, workers=1)):
            lab = srv.client("lab")
            scan_id = lab.post("/scans", files={"apk": ("a.apk", b"PK\x03\x04junk")}).json()["id"]
            body = wait_scan(lab, f"/scans/{scan_id}")
            assert body["status"] == "failed" and "HostileApkError" in body["error"]
            assert "65535" in body["error"]


def test_openapi_is_served(server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    spec = httpx.get(srv.base_url + "/openapi.json").json()
    assert "/api/v1/cases/{case_id}/retest" in spec["paths"]
    assert httpx.get(srv.base_url + "/health").json()["status"] == "ok"
    _ = time


def test_policy_document_reaches_the_scanner(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    lab = srv.client("lab")
    apk = fake_apk(tmp_path, "com.example.policy").read_bytes()
    policy = "<html><body>隐私政策 我们收集设备信息</body></html>".encode()
    r = lab.post("/scans", files={"apk": ("a.apk", apk), "policy": ("policy.HTML", policy, "text/html")})
    assert r.status_code == 202, r.text
    done = wait_scan(lab, f"/scans/{r.json()['id']}")
    (seen,) = [f for f in done["findings"] if f["rule_id"] == "AW-POLICY-SEEN"]
    assert seen["title_en"].startswith("Policy read: .html <html><body>隐私政策")


def test_policy_self_check_judges_the_document_alone(server) -> None:  # type: ignore[no-untyped-def]
    srv, _ = server
    lab = srv.client("lab")
    policy = (
        "<html><body><h1>示例隐私政策</h1><p>更新日期:2024年3月1日</p>"
        "<h2>一、我们如何收集和使用您的个人信息</h2><p>为向您提供天气预报,我们会收集您的位置信息。</p>"
        "<h2>二、如何联系我们</h2><p>您可以发送邮件至 privacy@example.com 联系我们。</p></body></html>"
    ).encode("gb18030")
    r = lab.post("/policies/analyse", files={"policy": ("policy.html", policy, "text/html")})
    assert r.status_code == 200, r.text
    body = r.json()
    # The same document as `appwarden policy analyse --format json`: the analysis with its findings beside it.
    assert body["encoding"] in ("gb18030", "gbk", "gb2312")
    located = next(s for s in body["sentences"] if "位置信息" in s["text"])
    assert "CR13" in [lb["label"] for lb in located["labels"]]
    rules = {f["rule_id"] for f in body["findings"]}
    # No guardian-consent wording, no retention period: findings on the document; nothing that needs an app.
    assert "AW-POLICY-003" in rules and "AW-SAG-010" in rules
    assert not rules & {"AW-POLICY-001", "AW-POLICY-002", "AW-PG3-024"}
    # A policy kept as Markdown (a developer's repository copy) is read with its structure.
    markdown = "# 示例隐私政策\n\n## 一、我们收集的信息\n\n| SDK名称 | 使用目的 | 收集个人信息 |\n| --- | --- | --- |\n"
    markdown += "| 某推送SDK | 消息推送 | 设备标识符 |\n"
    r = lab.post("/policies/analyse", files={"policy": ("privacy.md", markdown.encode("utf-8"), "text/markdown")})
    assert r.status_code == 200, r.text
    assert r.json()["format"] == "markdown" and [s["heading"] for s in r.json()["sections"]] == ["一、我们收集的信息"]
    assert [d["purpose"] for d in r.json()["facts"]["sdks"]] == ["消息推送"]
    # Bad documents are clear client errors; the auditor only reads records.
    assert_error(lab.post("/policies/analyse", files={"policy": ("p.html", b"", "text/html")}), 400, "invalid_input")
    binary = bytes(range(256)) * 8
    assert_error(lab.post("/policies/analyse", files={"policy": ("p.bin", binary)}), 400, "policy_document")
    assert_error(lab.post("/policies/analyse", data={"x": "1"}), 422, "validation_error")
    assert_error(
        srv.client("auditor").post("/policies/analyse", files={"policy": ("p.html", policy)}), 403, "role_not_allowed"
    )
