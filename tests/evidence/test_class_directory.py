"""ClassDirectory: classes kept as compact per-DEX tables, made into ClassInfo on first look-up.

The scan keeps every class of every DEX to its end; the directory must answer exactly as the
dict of ClassInfo objects it replaced (same classes, same look-ups, one object per class),
whatever the hashes of the descriptors do.
"""

from __future__ import annotations

import pytest

from appwarden.evidence import calls
from appwarden.evidence.calls import ClassDirectory, ClassInfo, ClassTable, MethodBody, ProgramIndex


def _table(dex: str = "classes.dex") -> ClassTable:
    table = ClassTable(
        dex,
        ["Lapp/Main;", "Lapp/Base;", "Lapp/Impl;", "Lapp/Other;"],
        ["Lapp/Base;", "Landroid/app/Activity;", "Ljava/lang/Object;", None],
        [(), (), ("Lapp/Listener;", "Ljava/lang/Runnable;"), ()],
    )
    body = MethodBody(dex, "Lapp/Main;", "onCreate()V", strings=[(0, "x")])
    table.built[0] = {"onCreate()V": body}
    table.static_strings[3] = ("https://example.com",)
    return table


@pytest.fixture(params=["real hashes", "every hash equal"])
def directory(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ClassDirectory:
    if request.param == "every hash equal":
        # Every descriptor collides: each look-up must still find exactly its own class.
        monkeypatch.setattr(calls, "hash", lambda _text: 7, raising=False)
    classes = ClassDirectory({"Lapp/Listener;": ClassInfo("Lapp/Listener;", "classes2.dex")})
    classes.add_table(_table())
    return classes


def test_look_ups_answer_as_a_dict_of_class_infos(directory: ClassDirectory) -> None:
    assert sorted(directory) == ["Lapp/Base;", "Lapp/Impl;", "Lapp/Listener;", "Lapp/Main;", "Lapp/Other;"]
    assert len(directory) == 5
    assert "Lapp/Impl;" in directory and "Lapp/Nope;" not in directory and 3 not in directory
    assert directory.get("Lapp/Nope;") is None
    with pytest.raises(KeyError):
        directory["Landroid/app/Activity;"]
    impl = directory["Lapp/Impl;"]
    assert (impl.descriptor, impl.dex, impl.superclass) == ("Lapp/Impl;", "classes.dex", "Ljava/lang/Object;")
    assert impl.interfaces == ("Lapp/Listener;", "Ljava/lang/Runnable;")
    assert directory["Lapp/Impl;"] is impl  # made once, then the same object
    assert directory["Lapp/Other;"].superclass is None
    assert directory["Lapp/Other;"].static_strings == ("https://example.com",)
    main = directory["Lapp/Main;"]
    assert list(main.methods) == ["onCreate()V"] and main.methods["onCreate()V"].strings == [(0, "x")]


def test_whole_program_reads_make_no_class_info(directory: ClassDirectory) -> None:
    assert directory.superclass_of("Lapp/Main;") == ("Lapp/Base;",)
    assert directory.superclass_of("Lapp/Other;") == (None,)
    assert directory.superclass_of("Lapp/Nope;") is None
    pairs = sorted(directory.subclass_pairs())
    assert [(parent, child) for parent, child, _ in pairs] == [
        ("Lapp/Base;", "Lapp/Main;"),
        ("Lapp/Listener;", "Lapp/Impl;"),
    ]
    assert [directory.descriptor_of(key) for _, _, key in pairs] == ["Lapp/Main;", "Lapp/Impl;"]
    assert all(directory.key_of(child) == key for _, child, key in pairs)
    assert [(d, list(b)) for d, b in directory.built_bodies()] == [("Lapp/Main;", ["onCreate()V"])]
    assert list(directory.static_strings()) == [("Lapp/Other;", ("https://example.com",))]
    assert directory._made == {}
    # Once made, the ClassInfo is what these read (its bodies are the table's).
    main = directory["Lapp/Main;"]
    assert dict(directory.built_bodies())["Lapp/Main;"] is main.methods


def test_defined_tells_which_names_are_classes_here(directory: ClassDirectory) -> None:
    names = ["Lapp/Other;", "Ljava/lang/Object;", "Lapp/Listener;", "Lapp/Main;x"]
    assert directory.defined(names) == [True, False, True, False]
    assert ClassDirectory().defined(names) == [False] * 4


def test_a_later_table_adds_only_its_new_classes(directory: ClassDirectory) -> None:
    later = ClassTable("classes3.dex", ["Lapp/Later;"], ["Lapp/Impl;"], [()])
    directory.add_table(later)
    assert directory["Lapp/Later;"].dex == "classes3.dex" and directory["Lapp/Main;"].dex == "classes.dex"
    assert ("Lapp/Impl;", "Lapp/Later;") in {(parent, child) for parent, child, _ in directory.subclass_pairs()}
    # Keys name classes across tables and given ones alike.
    for descriptor in ("Lapp/Later;", "Lapp/Main;", "Lapp/Listener;"):
        assert directory.descriptor_of(directory.key_of(descriptor)) == descriptor
    with pytest.raises(KeyError):
        directory.key_of("Lapp/Nope;")


def test_replacing_and_removing_a_table_class(directory: ClassDirectory) -> None:
    replacement = ClassInfo("Lapp/Main;", "patched.dex")
    directory["Lapp/Main;"] = replacement
    assert directory["Lapp/Main;"] is replacement and sorted(directory).count("Lapp/Main;") == 1
    del directory["Lapp/Base;"]
    assert "Lapp/Base;" not in directory and directory.get("Lapp/Base;") is None
    assert directory.defined(["Lapp/Base;"]) == [False]
    del directory["Lapp/Listener;"]  # a given one
    assert sorted(directory) == ["Lapp/Impl;", "Lapp/Main;", "Lapp/Other;"]
    with pytest.raises(KeyError):
        del directory["Lapp/Base;"]


def test_program_index_keeps_a_plain_dict_as_a_directory() -> None:
    info = ClassInfo("La/B;", "classes.dex")
    program = ProgramIndex({"La/B;": info})
    assert isinstance(program.classes, ClassDirectory) and program.classes["La/B;"] is info
    assert not program.add_class(ClassInfo("La/B;", "classes2.dex"))
    assert program.add_class(ClassInfo("La/C;", "classes2.dex")) and sorted(program.classes) == ["La/B;", "La/C;"]
