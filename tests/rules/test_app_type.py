"""App-type inference: confident cases decide, unclear cases say why, declarations win."""

from __future__ import annotations

import pytest

from appwarden.errors import ConfigurationError
from appwarden.rules.app_type import DECIDE_MARGIN, DECIDE_THRESHOLD, app_types, infer_app_type, resolve_app_type


def test_39_types_loaded_with_tool_types_needing_no_pi() -> None:
    types = app_types()
    assert len(types) == 39
    assert types["utility_tools"].no_pi_necessary and not types["utility_tools"].necessary_pi
    assert "location" in types["map_navigation"].necessary_pi


def test_flashlight_label_decides_utility_tools(ef) -> None:
    decision = infer_app_type(ef.evidence(package="com.bright.torch", label="超亮手电筒"))
    assert decision.decided == "utility_tools"
    assert decision.inferred[0].confidence >= DECIDE_THRESHOLD
    assert any("手电筒" in r for r in decision.inferred[0].reasons)


def test_map_sdk_supports_ride_words(ef) -> None:
    sdk = ef.sdk("amap_location", categories=["map"])
    decision = infer_app_type(ef.evidence(package="com.city.taxi", label="城市打车", sdks=[sdk]))
    assert decision.decided == "ride_hailing"
    assert any("map SDK" in r for r in decision.inferred[0].reasons)


def test_package_token_alone_is_not_enough(ef) -> None:
    decision = infer_app_type(ef.evidence(package="com.example.weather", label="Sunny"))
    assert decision.decided is None
    assert decision.inferred and decision.inferred[0].app_type == "utility_tools"
    assert str(DECIDE_THRESHOLD) in decision.reason and "--app-type" in decision.reason


def test_close_candidates_stay_undecided(ef) -> None:
    # "地图" (map) and "打车" (ride) both in the label: too close to call.
    decision = infer_app_type(ef.evidence(package="com.example.x", label="地图打车"))
    assert decision.decided is None
    top, second = decision.inferred[0], decision.inferred[1]
    assert top.confidence - second.confidence < DECIDE_MARGIN
    assert "margin" in decision.reason


def test_no_signal_says_so(ef) -> None:
    decision = infer_app_type(ef.evidence(package="com.qq.zz", label="Zzz"))
    assert decision.decided is None and decision.inferred == []
    assert "no signal" in decision.reason


def test_input_method_service_from_manifest(ef) -> None:
    ime = ef.component("service", "com.example.Ime", exported=True, actions=["android.view.InputMethod"])
    decision = infer_app_type(ef.evidence(package="com.example.x", label="X", components=[ime]))
    assert decision.decided == "input_method"


def test_declared_type_wins_and_is_validated(ef) -> None:
    ev = ef.evidence(label="超亮手电筒")
    decision = infer_app_type(ev, declared="地图导航类")
    assert decision.decided == "map_navigation" and decision.declared == "map_navigation"
    assert decision.inferred[0].app_type == "utility_tools"  # still reported for review
    assert resolve_app_type("1").id == "map_navigation"
    assert resolve_app_type("实用工具").id == "utility_tools"
    with pytest.raises(ConfigurationError, match="unknown app type"):
        infer_app_type(ev, declared="spaceship")


def test_flash_feature_and_torch_package_decide_tool(ef) -> None:
    ev = ef.evidence(package="com.acme.torch", label="Bright", uses_features=["android.hardware.camera.flash"])
    decision = infer_app_type(ev)
    assert decision.decided == "utility_tools"
    assert any("camera.flash" in r for r in decision.inferred[0].reasons)


def test_string_resources_confirm_a_package_token(ef) -> None:
    texts = ["立即打车", "打车记录", "预约专车", "设置"]
    decision = infer_app_type(ef.evidence(package="com.city.taxi", label="CityGo", resource_texts=texts))
    assert decision.decided == "ride_hailing"
    assert any("string resources" in r for r in decision.inferred[0].reasons)


def test_string_resources_alone_never_decide(ef) -> None:
    texts = ["立即打车", "打车记录", "预约专车"]
    decision = infer_app_type(ef.evidence(package="com.example.app", label="CityGo", resource_texts=texts))
    assert decision.decided is None
    assert decision.inferred[0].app_type == "ride_hailing"
    assert decision.inferred[0].confidence < DECIDE_THRESHOLD


def test_two_resource_mentions_are_not_a_signal(ef) -> None:
    decision = infer_app_type(ef.evidence(package="com.city.taxi", label="CityGo", resource_texts=["打车", "打车记录"]))
    assert all("string resources" not in r for c in decision.inferred for r in c.reasons)
