"""Unbuilt methods of one DEX share one id array and signature table across their classes."""

from __future__ import annotations

from array import array

import numpy as np
import pytest

from appwarden.evidence.calls import MethodBody, MethodTable
from appwarden.evidence.extract import _ClassMethods, _UnbuiltMethods


def _shared() -> _UnbuiltMethods:
    names, protos = ["a", "b", "c"], ["()V", "(I)V"]
    # class 0: rows 0-1, class 1: rows 2-4
    return _UnbuiltMethods(
        names,
        protos,
        np.array([0, 1, 2, 0, 1]),
        np.array([0, 0, 1, 1, 0]),
        np.array([10, 11, 12, 13, 14]),
        array("I", [0, 2, 5]),
    )


def test_each_class_sees_its_own_slice() -> None:
    shared = _shared()
    first, second = _ClassMethods(shared, 0), _ClassMethods(shared, 1)
    assert first() == ("a()V", "b()V") and second() == ("c(I)V", "a(I)V", "b()V")
    assert list(first) == [10, 11] and list(second) == [12, 13, 14]
    assert len(second) == 3 and second[-1] == 14 and list(second[1:]) == [13, 14]
    with pytest.raises(IndexError):
        first[2]


def test_deleting_from_one_table_leaves_the_shared_ids_alone() -> None:
    shared = _shared()

    def factory(cls: str, sig: str, method_id: int) -> MethodBody:
        return MethodBody("classes.dex", cls, sig, [(method_id, "")])

    first = MethodTable("La;", {}, _ClassMethods(shared, 0), _ClassMethods(shared, 0), factory)
    second = MethodTable("Lb;", {}, _ClassMethods(shared, 1), _ClassMethods(shared, 1), factory)
    del second["c(I)V"]
    assert sorted(second) == ["a(I)V", "b()V"]
    body = second["b()V"]
    assert body.invokes == [(14, "")]
    assert first["b()V"].invokes == [(11, "")] and list(shared.ids) == [10, 11, 12, 13, 14]


@pytest.mark.parametrize("collide", [False, True], ids=["real hashes", "every hash equal"])
def test_class_methods_find_signatures_by_hash_without_keeping_them(
    collide: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appwarden.evidence import extract

    if collide:
        monkeypatch.setattr(extract, "hash", lambda _text: 3, raising=False)
    shared = _shared()
    second = _ClassMethods(shared, 1)
    assert [second.position(s) for s in ("c(I)V", "a(I)V", "b()V")] == [0, 1, 2]
    assert second.position("a()V") == -1  # class 0's signature, not this class's
    assert second.position("nope()V") == -1

    def factory(cls: str, sig: str, method_id: int) -> MethodBody:
        return MethodBody("classes.dex", cls, sig, [(method_id, "")])

    table = MethodTable("Lb;", {}, second, second, factory)
    assert "a(I)V" in table and "a()V" not in table
    assert table["b()V"].invokes == [(14, "")]
    assert table._signatures is second  # the table kept no tuple of signature strings
    assert sorted(table) == ["a(I)V", "b()V", "c(I)V"] and len(table) == 3
    del table["c(I)V"]  # from here the table keeps its own tuple
    assert sorted(table) == ["a(I)V", "b()V"] and table["a(I)V"].invokes == [(13, "")]
