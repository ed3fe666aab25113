"""Normalisation: the Traditional-to-Simplified shortcut is exact (differential against OpenCC itself)."""

from __future__ import annotations

import opencc
from hypothesis import given, settings
from hypothesis import strategies as st

from appwarden.evidence.policy.normalize import _changed_by_t2s, normalize_sentence, to_simplified

_T2S = opencc.OpenCC("t2s")
_S2T = opencc.OpenCC("s2t")

SENTENCES = [
    "我们会收集您的设备信息和位置信息,用于向您推荐附近的门店。",
    "若您是未满14周岁的儿童,应在监护人的同意下使用我们的服务。",
    "我們會收集您的裝置資訊與位置資訊,用於向您推薦附近的門市。",
    "乾坤大挪移與乾燥的天氣",  # 乾 stays in 乾坤, becomes 干 in 乾燥
    "著名的看著他",
    "Privacy policy v2.0 (updated 2024-03-01)",
]


def test_the_shortcut_gives_what_opencc_gives() -> None:
    for text in [*SENTENCES, *(_S2T.convert(s) for s in SENTENCES)]:
        assert to_simplified(text) == _T2S.convert(text), text
    # Plain Simplified text takes the shortcut; Traditional text does not.
    assert _changed_by_t2s().isdisjoint(SENTENCES[0])
    assert not _changed_by_t2s().isdisjoint(SENTENCES[2])


_ALPHABET = st.sampled_from(
    sorted(_changed_by_t2s())[:400] + list("我们的您个人信息收集使用共享第三方同意权限位置设备,。、()乾坤燥著看他")
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_ALPHABET, max_size=30).map("".join))
def test_any_mix_of_characters_converts_as_opencc_does(text: str) -> None:
    assert to_simplified(text) == _T2S.convert(text)


def test_sentence_normalisation_is_cached_and_pure() -> None:
    text = "我們會收集您的ＩＭＥＩ　和 Android ID"
    assert normalize_sentence(text) == "我们会收集您的imei 和 android id"
    assert normalize_sentence(text) is normalize_sentence(text)
