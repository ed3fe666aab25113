"""The whole chain over HTTP against a live server, with the real scanner on the sample apps.

store submits -> findings -> notice -> deadline passes (tick, injected clock) -> publicly named
-> takedown -> stores confirm -> bad list; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from api.apikit import LiveServer, WebhookReceiver, add_user, live_server, wait_scan
from appwarden.governance.jobs import LocalProcessExecutor
from appwarden.governance.models import Role
from governance.govkit import Database, credit_code
from support import example_apk

OPERATOR = {"name": "示例科技有限公司", "code": credit_code(42)}


def metadata(name: str) -> str:
    return json.dumps(
        {
            "name": name,
            "category": "工具",
            "developer": "示例开发者",
            "description": "一个示例应用",
            "operator_name": OPERATOR["name"],
            "operator_credit_code": OPERATOR["code"],
        },
        ensure_ascii=False,
    )


@pytest.fixture
def server(database: Database) -> Iterator[LiveServer]:
    pytest.importorskip("appwarden.pipeline", reason="the real scan pipeline is not available")
    example_apk("sdkdemo")
    executor = LocalProcessExecutor("appwarden.pipeline:scan_apk", workers=1)
    yield from live_server(database, executor)


@pytest.mark.slow
def test_whole_chain_over_http(server: LiveServer, database: Database) -> None:
    sdkdemo, plain = example_apk("sdkdemo"), example_apk("plain")
    reg, lab, auditor = server.client("regulator"), server.client("lab"), server.client("auditor")

    with WebhookReceiver() as hook:
        store_ids = []
        for code, webhook in (("store-a", hook.url), ("store-b", hook.url.replace("/verdict", "/"))):
            r = reg.post("/stores", json={"code": code, "name": f"应用商店 {code}", "webhook_url": webhook})
            assert r.status_code == 201, r.text
            store_ids.append(r.json()["id"])
        a_id, b_id = store_ids
        server.tokens["store-a"] = add_user(database, "store-a-bot", Role.STORE, store_id=a_id)
        server.tokens["store-b"] = add_user(database, "store-b-bot", Role.STORE, store_id=b_id)
        store_a, store_b = server.client("store-a"), server.client("store-b")

        # Listing review: store A submits the clean app (pass, listed) and store B the SDK demo (fail).
        with plain.open("rb") as f:
            r = store_a.post(
                f"/stores/{a_id}/reviews",
                files={"apk": ("plain.apk", f, "application/vnd.android.package-archive")},
                data={"metadata": metadata("Plain")},
                headers={"Idempotency-Key": "a-plain-1"},
            )
        assert r.status_code == 202, r.text
        review_a = r.json()["id"]
        with sdkdemo.open("rb") as f:
            r = store_b.post(
                f"/stores/{b_id}/reviews",
                files={"apk": ("sdkdemo.apk", f.read())},
                data={"metadata": metadata("SDK 演示"), "callback_url": hook.url},
            )
        assert r.status_code == 202, r.text
        # A callback off the store's registered webhook origin is refused (no request forgery).
        with sdkdemo.open("rb") as f:
            forged = store_b.post(
                f"/stores/{b_id}/reviews",
                files={"apk": ("sdkdemo.apk", f.read())},
                data={"metadata": metadata("SDK 演示"), "callback_url": "http://169.254.169.254/latest"},
            )
        assert forged.status_code == 400 and "origin" in forged.json()["error"]["message"]
        review_b = r.json()["id"]
        verdict_a = wait_scan(store_a, f"/stores/{a_id}/reviews/{review_a}")
        verdict_b = wait_scan(store_b, f"/stores/{b_id}/reviews/{review_b}")
        # plain.apk is the negative control: few findings (no bundled policy at most), never SDK ones.
        violations_a = [f for f in verdict_a["findings"] if f["severity"] != "info"]
        assert verdict_a["verdict"] == ("fail" if violations_a else "pass"), verdict_a
        assert not any(f["owner"] != "app" for f in verdict_a["findings"])
        assert verdict_b["verdict"] == "fail" and len(verdict_b["findings"]) > len(verdict_a["findings"]) + 5
        assert {f["rule_id"] for f in verdict_b["findings"]} >= {"AW-SDK-001"}
        assert verdict_b["package"] == "com.appwarden.sample.sdkdemo"
        received = hook.wait_for(2)
        assert sorted(v["verdict"] for v in received) == sorted([verdict_a["verdict"], "fail"])
        assert {v["scan_id"] for v in received} == {review_a, review_b}
        # Scope: store A cannot read store B's review.
        assert store_a.get(f"/stores/{b_id}/reviews/{review_b}").status_code == 403

    # Both stores already list the SDK demo (catalog snapshots).
    for client, sid in ((store_a, a_id), (store_b, b_id)):
        r = client.post(
            f"/stores/{sid}/catalog-snapshots",
            json={
                "taken_at": server.clock().isoformat(),
                "items": [{"package": "com.appwarden.sample.sdkdemo"}, {"package": "com.appwarden.sample.plain"}],
            },
        )
        assert r.status_code == 201, r.text
    listings = store_a.get(f"/stores/{a_id}/listings").json()
    assert {item["status"] for item in listings["items"]} == {"listed"}

    # Case and rectification notice.
    r = reg.post("/cases", json={"scan_id": review_b, "reason": "listing review found problems"})
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    r = reg.post("/cases/notices", json={"case_ids": [case_id]})
    assert r.status_code == 201, r.text
    (notice,) = r.json()
    case = reg.get(f"/cases/{case_id}").json()
    assert case["state"] == "notice_issued" and case["deadline"] == "2026-03-16"  # 10 working days
    operator_id = case["operator_id"]
    server.tokens["dev"] = add_user(database, "dev", Role.DEVELOPER, operator_id=operator_id)
    dev = server.client("dev")
    assert dev.get(f"/cases/{case_id}").status_code == 200
    pdf = dev.get(f"/notices/{notice['id']}/document/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert store_a.get(f"/notices/{notice['id']}").status_code == 403, "a store does not see rectification notices"

    # A re-test of the same APK is refused; then the deadline passes.
    assert lab.post(f"/cases/{case_id}/retest", json={"scan_id": review_b}).status_code == 400
    assert reg.post("/tick").json()["named"] == []
    server.clock.now += timedelta(days=15)
    assert reg.post("/tick").json()["named"] == [case_id]
    assert reg.get(f"/cases/{case_id}").json()["state"] == "publicly_named"

    # Public notification list, in every format from the same data.
    r = reg.post("/notices/public-list", json={"case_ids": [case_id]})
    assert r.status_code == 201, r.text
    public = r.json()
    html = auditor.get(f"/notices/{public['id']}/document/html").text
    assert "com.appwarden.sample.sdkdemo" in html and OPERATOR["name"] in html
    csv_text = auditor.get(f"/notices/{public['id']}/document/csv").content.decode("utf-8-sig")
    assert "AW-SDK-001" in csv_text and "应用商店 store-a" in csv_text
    sheet = load_workbook(io.BytesIO(auditor.get(f"/notices/{public['id']}/document/xlsx").content)).active
    assert sheet is not None and any(
        "com.appwarden.sample.sdkdemo" in str(c.value) for row in sheet.iter_rows() for c in row
    )

    # Takedown to every store listing the app; each store sees only its own order.
    r = reg.post(f"/cases/{case_id}/takedown", json={})
    assert r.status_code == 201, r.text
    orders = r.json()
    assert sorted(o["store_id"] for o in orders) == sorted([a_id, b_id])
    feed_a = store_a.get(f"/stores/{a_id}/takedown-orders", params={"pending": True}).json()["items"]
    assert [o["store_id"] for o in feed_a] == [a_id]
    assert store_a.get(f"/stores/{b_id}/takedown-orders").status_code == 403
    order_b = next(o for o in orders if o["store_id"] == b_id)
    assert store_a.post(f"/takedown-orders/{order_b['id']}/ack").status_code == 403
    assert store_a.post(f"/takedown-orders/{feed_a[0]['id']}/ack").status_code == 200
    assert reg.get(f"/cases/{case_id}").json()["state"] == "takedown_ordered"
    assert store_b.post(f"/takedown-orders/{order_b['id']}/ack").status_code == 200
    assert store_b.post(f"/takedown-orders/{order_b['id']}/ack").status_code == 409
    assert reg.get(f"/cases/{case_id}").json()["state"] == "removal_confirmed"

    # Bad list, counted against the operator.
    r = reg.post(f"/cases/{case_id}/badlist", json={"reason": "逾期未整改，已下架"})
    assert r.status_code == 201, r.text
    assert r.json()["offence_number"] == 1
    assert reg.get(f"/operators/{operator_id}").json()["badlisted"] is True
    assert [e["case_id"] for e in dev.get("/bad-list").json()["items"]] == [case_id]
    detail = reg.get(f"/cases/{case_id}").json()
    assert [e["to_state"] for e in detail["events"]] == [
        "detected",
        "notice_issued",
        "publicly_named",
        "takedown_ordered",
        "removal_confirmed",
        "operator_badlisted",
    ]
    assert detail["events"][1]["documents"][0]["number"] == notice["number"]
    assert [d["kind"] for d in detail["events"][3]["documents"]] == ["takedown_order", "takedown_order"]

    # Oversight: statistics, compliance, the audit chain.
    funnel = auditor.get("/stats/funnel").json()
    assert funnel == [{"key": "total", "tested": 2, "ordered_to_rectify": 1, "publicly_named": 1, "taken_down": 1}]
    by_store = {row["key"]: row for row in auditor.get("/stats/funnel", params={"by": "store"}).json()}
    assert by_store["应用商店 store-a"]["taken_down"] == 1
    compliance = store_b.get(f"/stores/{b_id}/compliance").json()
    assert compliance["acknowledged"] == 1 and compliance["reviews"]["fail"] == 1
    verify = auditor.get("/audit/verify").json()
    assert verify["ok"] and verify["entries"] > 15
    assert auditor.post(f"/cases/{case_id}/badlist", json={"reason": "x"}).status_code == 403
