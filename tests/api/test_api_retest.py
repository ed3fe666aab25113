"""Re-test over HTTP (fake scanner injected through the executor): fixed -> closed; self-checks stay private."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.apikit import LiveServer, add_user, live_server, wait_scan
from appwarden.governance.jobs import ThreadExecutor
from appwarden.governance.models import Role
from governance.govkit import FINDINGS, Database, credit_code, fake_apk, fake_scan_apk


@pytest.fixture
def server(database: Database) -> Iterator[LiveServer]:
    yield from live_server(database, ThreadExecutor(fake_scan_apk, workers=2))


def _scan(client, path: Path, **data: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = client.post("/scans", files={"apk": (path.name, path.read_bytes())}, data=data)
    assert r.status_code == 202, r.text
    return wait_scan(client, f"/scans/{r.json()['id']}")


def test_retest_closes_the_case(server: LiveServer, database: Database, tmp_path: Path) -> None:
    reg, lab = server.client("regulator"), server.client("lab")
    operator = {"operator_name": "乙公司", "operator_credit_code": credit_code(7)}
    campaign = reg.post("/campaigns", json={"name": "APP 专项 2026", "deadline_workdays": 3}).json()
    first = _scan(lab, fake_apk(tmp_path, "com.fixme", findings=FINDINGS), campaign_id=str(campaign["id"]), **operator)
    assert first["verdict"] == "fail"
    case = reg.post("/cases", json={"scan_id": first["id"], "campaign_id": campaign["id"]}).json()
    reg.post("/cases/notices", json={"case_ids": [case["id"]]})
    assert reg.get(f"/cases/{case['id']}").json()["deadline"] == "2026-03-05", "the campaign's 3 working days"

    # The developer self-checks a fix; its scans are its own and it cannot open cases.
    server.tokens["dev"] = add_user(database, "dev", Role.DEVELOPER, operator_id=case["operator_id"])
    dev = server.client("dev")
    fixed_apk = fake_apk(tmp_path, "com.fixme", version_code=2, findings=[FINDINGS[2]])
    self_check = _scan(dev, fixed_apk)
    assert self_check["purpose"] == "self_check" and self_check["verdict"] == "pass"
    assert dev.post("/cases", json={"scan_id": self_check["id"]}).status_code == 403
    assert {s["id"] for s in dev.get("/scans").json()["items"]} >= {self_check["id"]}

    # The lab's re-test of the new version: every problem fixed, case closed.
    retest = _scan(lab, fixed_apk)
    r = lab.post(f"/cases/{case['id']}/retest", json={"scan_id": retest["id"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["passed"] and len(body["fixed"]) == 2 and body["case"]["state"] == "closed"
    again = lab.post(f"/cases/{case['id']}/retest", json={"scan_id": retest["id"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    funnel = reg.get("/stats/funnel", params={"campaign_id": campaign["id"]}).json()
    assert funnel[0]["ordered_to_rectify"] == 1 and funnel[0]["publicly_named"] == 0


def test_self_check_does_not_claim_an_app(server: LiveServer, database: Database, tmp_path: Path) -> None:
    reg = server.client("regulator")
    operator = reg.post("/operators", json={"legal_name": "丙公司", "credit_code": credit_code(8)}).json()
    server.tokens["dev"] = add_user(database, "dev2", Role.DEVELOPER, operator_id=operator["id"])
    _scan(server.client("dev"), fake_apk(tmp_path, "com.someone.else", findings=FINDINGS))
    (app,) = reg.get("/apps").json()["items"]
    assert app["package"] == "com.someone.else" and app["operator_id"] is None
    assert server.client("dev").get("/apps").json()["total"] == 0
