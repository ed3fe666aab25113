"""Independent readings of a DEX file (Debian's dexdump, androguard) in the reader's terms.

Each oracle returns a set of ``(caller descriptor, kind, index, code-unit offset)`` where kind is
``invoke``, ``string``, ``field`` or ``class``, plus the callee descriptor text of every invoke.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from appwarden.apk.dex import DexFile

Reference = tuple[str, str, int, int]

_HEADER = re.compile(r"\|\[[0-9a-f]+\] (?P<cls>.+)\.(?P<name>[^.:]+):(?P<proto>\(.*)$")
_INSN = re.compile(
    r"\|(?P<off>[0-9a-f]{4,}): (?P<op>[a-z/0-9-]+) .*// (?P<kind>method|string|field|type)@(?P<idx>[0-9a-f]+)",
    re.DOTALL,  # a const-string's text may span lines (see _joined_strings)
)
_CALLEE = re.compile(r"\}, (?P<cls>\S+?;|\[[^\s.]+)\.(?P<name>[^:]+):(?P<proto>\([^\s,]*)(?:,| //)")


def ours(dex: DexFile) -> tuple[set[Reference], set[tuple[str, str]]]:
    """The reader's own references, as oracle tuples."""
    refs = dex.code_references()
    result: set[Reference] = set()
    for kind, table in (
        ("invoke", refs.invokes),
        ("string", refs.strings),
        ("field", refs.fields),
        ("class", refs.classes),
    ):
        for caller, op, target, offset in table.rows.tolist():
            if op in (0xFC, 0xFD):  # invoke-custom: a call-site index, which the oracles do not report
                continue
            result.add((dex.method_ref(caller).descriptor(), kind, target, offset))
    pairs = {
        (dex.method_ref(caller).descriptor(), dex.method_ref(target).descriptor())
        for caller, op, target, _ in refs.invokes.rows.tolist()
        if op < 0xFC
    }
    return result, pairs


def dexdump(path: Path) -> tuple[set[Reference], set[tuple[str, str]]]:
    """References as ``dexdump -d`` disassembles them (linear sweep, as ART's tools do)."""
    exe = shutil.which("dexdump")
    assert exe is not None
    out = subprocess.run([exe, "-d", str(path)], check=True, capture_output=True).stdout.decode("utf-8", "replace")
    refs: set[Reference] = set()
    pairs: set[tuple[str, str]] = set()
    caller = ""
    # split("\n"), not splitlines(): string texts hold \x1c, \x85 and other characters it breaks on.
    for line in _joined_strings(out.split("\n")):
        header = _HEADER.search(line)
        if header:
            cls = "L" + header["cls"].replace(".", "/") + ";"
            caller = f"{cls}->{header['name']}{header['proto']}"
            continue
        insn = _INSN.search(line)
        if not insn:
            continue
        op, kind = insn["op"], insn["kind"]
        if kind == "method" and op.startswith("invoke-"):
            callee = _CALLEE.search(line)
            assert callee, line
            pairs.add((caller, f"{callee['cls']}->{callee['name']}{callee['proto']}"))
            refs.add((caller, "invoke", int(insn["idx"], 16), int(insn["off"], 16)))
        elif kind == "string" and op.startswith("const-string"):
            refs.add((caller, "string", int(insn["idx"], 16), int(insn["off"], 16)))
        elif kind == "field":
            refs.add((caller, "field", int(insn["idx"], 16), int(insn["off"], 16)))
        elif kind == "type" and op == "const-class":
            refs.add((caller, "class", int(insn["idx"], 16), int(insn["off"], 16)))
    return refs, pairs


def _joined_strings(lines: list[str]) -> list[str]:
    """dexdump prints a const-string's text raw: a string holding newlines (Kotlin metadata, messages)
    spans lines, and its "// string@" comment comes on the last one. Such lines are joined back."""
    joined: list[str] = []
    pending: list[str] = []
    for line in lines:
        if pending:
            pending.append(line)
            if "// string@" in line:
                joined.append("\n".join(pending))
                pending = []
        elif re.search(r"\|[0-9a-f]{4,}: const-string", line) and "// string@" not in line:
            pending = [line]
        else:
            joined.append(line)
    return joined + pending


def androguard(data: bytes) -> tuple[set[Reference], set[tuple[str, str]], list[str], set[str]]:
    """References, invoke pairs, the string table and the method descriptors as androguard reads them."""
    from androguard.core.dex import DEX
    from loguru import logger

    logger.remove()
    dex = DEX(data)
    refs: set[Reference] = set()
    pairs: set[tuple[str, str]] = set()
    methods: set[str] = set()
    for cls in dex.get_classes():
        for method in cls.get_methods():
            caller = f"{method.get_class_name()}->{method.get_name()}{method.get_descriptor().replace(' ', '')}"
            methods.add(caller)
            offset = 0
            for ins in method.get_instructions():
                op = ins.get_op_value()
                kind = None
                if 0x6E <= op <= 0x78 or op in (0xFA, 0xFB):
                    kind = "invoke"
                elif op in (0x1A, 0x1B):
                    kind = "string"
                elif 0x52 <= op <= 0x6D:
                    kind = "field"
                elif op == 0x1C:
                    kind = "class"
                if kind is not None:
                    idx = ins.BBBB if op in (0xFA, 0xFB) else ins.get_ref_kind()
                    if kind == "field" and op <= 0x5F:
                        idx = ins.CCCC
                    refs.add((caller, kind, int(idx), offset // 2))
                    if kind == "invoke":
                        m = dex.get_cm_method(int(idx))
                        pairs.add((caller, f"{m[0]}->{m[1]}{m[2][0]}{m[2][1]}".replace(" ", "")))
                offset += ins.get_length()
    return refs, pairs, list(dex.get_strings()), methods
