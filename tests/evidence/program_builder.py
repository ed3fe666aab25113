"""Build small ProgramIndex values for tests (what extract.py builds from real DEX files)."""

from __future__ import annotations

from appwarden.evidence.calls import ClassInfo, MethodBody, ProgramIndex


class ProgramBuilder:
    def __init__(self) -> None:
        self.program = ProgramIndex()

    def cls(
        self,
        descriptor: str,
        superclass: str | None = "Ljava/lang/Object;",
        interfaces: tuple[str, ...] = (),
        dex: str = "classes.dex",
    ) -> ProgramBuilder:
        self.program.add_class(ClassInfo(descriptor=descriptor, dex=dex, superclass=superclass, interfaces=interfaces))
        return self

    def method(
        self,
        descriptor: str,
        *,
        invokes: list[str] | None = None,
        fields: list[str] | None = None,
        strings: list[str] | None = None,
    ) -> MethodBody:
        """Define a method; references get offsets 2, 4, 6... in the order given (invokes, fields, strings)."""
        cls, _, sig = descriptor.partition("->")
        if cls not in self.program.classes:
            self.cls(cls)
        info = self.program.classes[cls]
        body = MethodBody(dex=info.dex, class_descriptor=cls, signature=sig)
        offset = 0
        for callee in invokes or []:
            offset += 2
            body.invokes.append((offset, callee))
        for fld in fields or []:
            offset += 2
            body.field_reads.append((offset, fld))
        for s in strings or []:
            offset += 2
            body.strings.append((offset, s))
        info.methods[sig] = body
        return body
