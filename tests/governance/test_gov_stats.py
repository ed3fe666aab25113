"""The programme funnel per campaign, period, problem, store and SDK vendor."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from appwarden.governance import cases, stats
from appwarden.governance.models import Campaign
from governance.govkit import CAL, T0, Database, scanned, setup_case


def test_funnel(database: Database, tmp_path: Path) -> None:
    with database.sessions() as s:
        campaign = Campaign(name="2026 第一批", created_at=T0)
        s.add(campaign)
        s.flush()
        named, _ = setup_case(s, tmp_path, "com.named", stores_listing=1)
        named.campaign_id = campaign.id
        closed_case, _ = setup_case(s, tmp_path, "com.closed", stores_listing=0)
        scanned(s, tmp_path, "com.clean", findings=[])
        cases.issue_notices(s, [named, closed_case], actor="r", now=T0, calendar=CAL, default_workdays=1)
        retest = scanned(s, tmp_path, "com.closed", version_code=2, findings=[])
        cases.record_retest(s, closed_case, retest, actor="lab", now=T0 + timedelta(days=1))
        cases.name_publicly(s, named, actor="r", reason="deadline", now=T0 + timedelta(days=3))
        (order,) = cases.order_takedown(s, named, actor="r", now=T0 + timedelta(days=3), ack_hours=24)
        cases.acknowledge_order(s, order, actor="store", now=T0 + timedelta(days=4))
        s.commit()

        (total,) = stats.funnel(s)
        # Tested counts app versions: named, closed (v1 and v2) and clean.
        assert total.model_dump() == {
            "key": "total",
            "tested": 4,
            "ordered_to_rectify": 2,
            "publicly_named": 1,
            "taken_down": 1,
        }
        (in_campaign,) = stats.funnel(s, campaign_id=campaign.id)
        assert (in_campaign.ordered_to_rectify, in_campaign.publicly_named, in_campaign.taken_down) == (1, 1, 1)
        early = stats.funnel(s, end=T0 + timedelta(days=2))
        assert early[0].ordered_to_rectify == 2 and early[0].publicly_named == 0
        by_problem = {r.key: r for r in stats.funnel(s, by="problem")}
        assert by_problem["AW-SDK-001"].publicly_named == 1 and by_problem["AW-PERM-001"].ordered_to_rectify == 2
        assert "AW-INFO-1" not in by_problem
        by_vendor = {r.key: r for r in stats.funnel(s, by="sdk_vendor")}
        assert by_vendor["Umeng"].taken_down == 1
        by_store = {r.key: r for r in stats.funnel(s, by="store")}
        assert by_store["Store 0"].taken_down == 1
        assert set(stats.funnel_all(s)) == set(stats.DIMENSIONS)
