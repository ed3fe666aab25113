from appwarden.evidence.model import Evidence, Identity, Permission
from appwarden.findings import Finding


def test_evidence_round_trips_through_json() -> None:
    ev = Evidence(
        engine_version="0",
        identity=Identity(package="com.example", apk_sha256="00" * 32, apk_size=10),
        permissions=[Permission(name="android.permission.CAMERA", pi_types=["photo"], dangerous=True)],
    )
    again = Evidence.model_validate_json(ev.model_dump_json())
    assert again == ev
    assert again.pi_reached() == {"photo"}


def test_fingerprint_ignores_part_order_but_not_rule() -> None:
    a = Finding.make_fingerprint("AW-1", "app", "x", "y")
    assert a == Finding.make_fingerprint("AW-1", "app", "y", "x")
    assert a != Finding.make_fingerprint("AW-2", "app", "x", "y")
