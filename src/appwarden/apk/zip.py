"""Defensive reader of the APK container (a ZIP archive).

The reader follows Android's own rules (libziparchive): the central directory is
authoritative, the End Of Central Directory record (EOCD) must end the file
exactly, names are compared byte for byte, duplicate names are refused. On top of
that it refuses the tricks hostile APKs use against analysis tools and enforces
resource limits, so that a bomb, an overlap or a lie in a header produces one of
the errors of :mod:`appwarden.errors` with a message naming the entry, never a
traceback, a hang or an out-of-memory.

Nothing is ever extracted to disk. A file opened by path is memory-mapped, so a
500 MB APK is neither copied nor read twice; entries are inflated on demand in
bounded chunks.

Decisions (the "why" behind behaviour a reader might not expect):

* Unknown compression methods: Android 9 and later read an entry whose method is
  neither STORED (0) nor DEFLATED (8) as if it were stored; malware uses this to
  break analysis tools. We do the same when the compressed and uncompressed
  sizes agree (with an ``unknown_compression_method`` warning), and refuse to
  read the entry otherwise (:class:`MalformedStructureError` on ``read``).
* The "encrypted" flag bit: Android ignores it; so do we, with an
  ``encrypted_flag`` warning, because it breaks other tools (zipfile, jadx).
* Path traversal, absolute names and NUL bytes in names are refused for the
  whole archive (:class:`HostileApkError`): a later stage (apktool, a colleague's
  extractor) must never be handed such a file, and an app that ships them is
  doing it on purpose.
* Per-entry size and ratio limits are checked when that entry is read, so one
  oversized asset does not hide the manifest; the entry count and the sum of
  declared sizes are checked when the archive is opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import os
import re
import stat
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Final

from appwarden.errors import HostileApkError, LimitExceededError, MalformedStructureError, UnreadableInputError

# ISA-L inflates about twice as fast as zlib, through the same streaming API (bounded output
# per call, unconsumed_tail, eof, an ``error`` class); zlib stays the fallback where no wheel exists.
_inflate_backend: ModuleType
try:
    from isal import isal_zlib

    _inflate_backend = isal_zlib
except ImportError:  # pragma: no cover - depends on the platform's wheels
    _inflate_backend = zlib

__all__ = [
    "METHOD_DEFLATED",
    "METHOD_STORED",
    "ApkArchive",
    "ArchiveWarning",
    "ZipEntry",
    "ZipLimits",
]

METHOD_STORED: Final = 0
METHOD_DEFLATED: Final = 8

FLAG_ENCRYPTED: Final = 0x0001
FLAG_DATA_DESCRIPTOR: Final = 0x0008
FLAG_UTF8: Final = 0x0800

_MIB: Final = 2**20
#: Entries at or below this uncompressed size are exempt from the ratio check:
#: small, highly repetitive files (empty layouts, padding) compress very well.
_RATIO_EXEMPT_BYTES: Final = _MIB
_INFLATE_CHUNK: Final = 64 * 1024
#: Entries from this size are read into a map of their own by ApkArchive.read_mapped: smaller ones
#: hold too few whole pages for releasing some to matter.
_MAPPED_MIN_BYTES: Final = _MIB
#: Local headers checked between releases of the pages they touched, and the span around a touched
#: page the kernel may map with it (fault-around, 64 KiB by default).
_HEADER_BATCH: Final = 64
_FAULT_AROUND: Final = 64 * 1024
#: Most bytes one inflate call produces: a streamed entry (a 4 MB dictionary asset read for its
#: hash) holds one such chunk at a time, and 256 KiB costs no measurable time against 1 MiB.
_OUTPUT_CHUNK: Final = 256 * 1024
_HASH_CHUNK: Final = 1 * _MIB

_EOCD_SIG: Final = b"PK\x05\x06"
_EOCD = struct.Struct("<4sHHHHIIH")  # 22 bytes
_ZIP64_LOCATOR_SIG: Final = b"PK\x06\x07"
_ZIP64_LOCATOR = struct.Struct("<4sIQI")  # 20 bytes
_ZIP64_EOCD_SIG: Final = b"PK\x06\x06"
_ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")  # 56 bytes
_CDH_SIG: Final = b"PK\x01\x02"
_CDH = struct.Struct("<4sHHHHHHIIIHHHHHII")  # 46 bytes
_LFH_SIG: Final = b"PK\x03\x04"
_LFH = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_MAX_COMMENT: Final = 0xFFFF
_ZIP64_EXTRA_ID: Final = 0x0001

_SIGNING_BLOCK_MAGIC: Final = b"APK Sig Block 42"
#: A signing block larger than this is not read (real ones are a few KiB).
_MAX_SIGNING_BLOCK: Final = 64 * _MIB

_DEX_MAGIC_PREFIX: Final = b"dex\n"
_DRIVE_PREFIX = re.compile(r"^[A-Za-z]:[\\/]")
_SEPARATORS = re.compile(r"[\\/]")


@dataclass(frozen=True)
class ZipLimits:
    """Resource limits applied while opening and reading one archive."""

    max_entries: int = 100_000
    max_entry_size: int = 512 * 2**20  # uncompressed bytes of one entry
    max_total_size: int = 4 * 2**30  # sum of declared uncompressed sizes
    max_ratio: float = 200.0  # uncompressed/compressed, checked for entries > 1 MiB
    max_name_length: int = 4096
    # Checked before the file is mapped or hashed: stores cap APKs well below this, and a
    # larger file would cost minutes of hashing before any other check could refuse it.
    max_file_size: int = 2 * 2**30


@dataclass(frozen=True)
class ZipEntry:
    """One central-directory entry, with the data offset resolved from its local header."""

    name: str
    method: int
    flags: int
    crc32: int
    compressed_size: int
    uncompressed_size: int
    local_header_offset: int
    data_offset: int

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")

    @property
    def encrypted_flag(self) -> bool:
        """The general-purpose "encrypted" bit is set (Android ignores it)."""
        return bool(self.flags & FLAG_ENCRYPTED)


@dataclass(frozen=True)
class ArchiveWarning:
    """A problem that did not stop reading the archive but may matter to an analyst.

    The evidence stage converts these into its ``ParseWarning`` records.
    """

    code: str
    message: str
    where: str | None = None


#: Whether this platform gives anonymous private maps whose pages can be handed back (Linux, macOS).
CAN_RELEASE_PAGES: Final = all(hasattr(mmap, n) for n in ("MAP_PRIVATE", "MAP_ANONYMOUS", "MADV_DONTNEED")) and hasattr(
    mmap.mmap, "madvise"
)


def private_map(size: int) -> mmap.mmap:
    """A zero-filled anonymous map of ``size`` bytes, private to this process.

    Private, where Python's default for an anonymous map is shared: the pages of a shared map
    handed back with madvise stay in the kernel's shared memory and return on the next read, so
    they would leave the process's resident set without leaving memory. A private page handed
    back is freed, and reads as zeros.
    """
    return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)


def _human_size(n: int | float) -> str:
    if n >= 2**30 and n % 2**30 == 0:
        return f"{int(n) // 2**30} GiB"
    if n >= _MIB and n % _MIB == 0:
        return f"{int(n) // _MIB} MiB"
    return f"{int(n)} bytes"


#: madvise option that drops a range of a mapping from the resident set (Linux, macOS); None elsewhere.
_DONT_NEED: int | None = getattr(mmap, "MADV_DONTNEED", None)


class _Buffer:
    """Read-only random access to the archive bytes (mmap of a file, or bytes in memory)."""

    def __init__(self, source: str | os.PathLike[str] | bytes) -> None:
        self._file = None
        self._map: mmap.mmap | None = None
        self.data: bytes | mmap.mmap
        if isinstance(source, bytes | bytearray | memoryview):
            self.data = bytes(source)
            self.size = len(self.data)
            return
        try:
            # Opening a FIFO or a device blocks or never ends: only regular files are APKs.
            if not stat.S_ISREG(os.stat(source).st_mode):
                raise UnreadableInputError(f"{os.fspath(source)!r} is not a regular file")
            self._file = open(source, "rb")  # noqa: SIM115 - lifetime is the archive's, closed in close()
        except OSError as exc:
            raise UnreadableInputError(f"cannot open {os.fspath(source)!r}: {exc.strerror or exc}") from exc
        try:
            self.size = os.fstat(self._file.fileno()).st_size
            if self.size == 0:
                self.data = b""
            else:
                self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
                self.data = self._map
                # The mapping keeps its own descriptor: one open file per archive, not two.
                self._file.close()
                self._file = None
        except (OSError, ValueError) as exc:
            self.close()
            raise UnreadableInputError(f"cannot map {os.fspath(source)!r}: {exc}") from exc

    def sha256(self) -> str:
        """SHA-256 of the whole file, hashed in chunks so no second copy is made."""
        digest = hashlib.sha256()
        with memoryview(self.data) as view:
            for start in range(0, self.size, _HASH_CHUNK):
                digest.update(view[start : start + _HASH_CHUNK])
                self.release(start, start + _HASH_CHUNK)
        return digest.hexdigest()

    def release(self, start: int, end: int) -> None:
        """Let the kernel drop the mapped pages of ``[start, end)`` from this process.

        Hashing or inflating touches every page of a mapped APK once; left mapped, they all count
        as resident memory for the whole scan although nothing reads them again (a 100 MB APK
        would cost 100 MB). Dropped pages of a read-only file mapping come back from the page
        cache if read again, so this changes memory, never content.
        """
        if self._map is None or _DONT_NEED is None:
            return
        first = start - start % mmap.PAGESIZE
        last = min(end, self.size)
        if last > first:
            with contextlib.suppress(OSError, ValueError):
                self._map.madvise(_DONT_NEED, first, last - first)

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._file is not None:
            self._file.close()
            self._file = None
        self.data = b""


@dataclass(frozen=True)
class _CentralRecord:
    """Fields of one central-directory header, before the local header is checked."""

    name: str
    raw_name: bytes
    method: int
    flags: int
    crc32: int
    compressed_size: int
    uncompressed_size: int
    local_header_offset: int


class ApkArchive:
    """An APK opened defensively. Use :meth:`open`; usable as a context manager."""

    path: str | None
    size: int
    sha256: str
    entries: list[ZipEntry]
    warnings: list[ArchiveWarning]
    signing_block: bytes | None
    limits: ZipLimits

    def __init__(self, buffer: _Buffer, path: str | None, limits: ZipLimits) -> None:
        # Private: the parse happens in open(), which owns the error handling.
        self._buffer = buffer
        self.path = path
        self.size = buffer.size
        self.limits = limits
        self.sha256 = ""
        self.entries = []
        self.warnings = []
        self.signing_block = None
        self._by_name: dict[str, ZipEntry] = {}
        self._closed = False

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, source: str | os.PathLike[str] | bytes, limits: ZipLimits | None = None) -> ApkArchive:
        """Open and validate an APK from a path or from bytes.

        Raises UnreadableInputError (empty, not a ZIP, truncated), HostileApkError
        (overlap, duplicate names, traversal, header mismatch, Janus prefix),
        LimitExceededError (entry count, total declared size, name length).
        """
        path = None if isinstance(source, bytes | bytearray | memoryview) else os.fspath(source)
        limits = limits or ZipLimits()
        if path is not None:
            with contextlib.suppress(OSError):  # an unreadable path is reported by _Buffer
                size = os.stat(path).st_size
                if size > limits.max_file_size:
                    raise LimitExceededError(
                        f"the file is {size} bytes, over the limit of {limits.max_file_size} bytes (max_file_size)"
                    )
        elif isinstance(source, bytes | bytearray | memoryview) and len(source) > limits.max_file_size:
            raise LimitExceededError(
                f"the input is {len(source)} bytes, over the limit of {limits.max_file_size} bytes"
            )
        buffer = _Buffer(source)
        archive = cls(buffer, path, limits)
        try:
            archive._parse()
        except BaseException:
            buffer.close()
            raise
        return archive

    def _parse(self) -> None:
        where = self.path or "<bytes>"
        if self.size == 0:
            raise UnreadableInputError(f"{where} is empty (0 bytes): not an APK")
        if self.size < _EOCD.size:
            raise UnreadableInputError(f"{where} is {self.size} bytes, too small to be a ZIP archive")
        self.sha256 = self._buffer.sha256()
        cd_offset, cd_size, entry_count = self._find_central_directory()
        if entry_count > self.limits.max_entries:
            raise LimitExceededError(
                f"entry count {entry_count} exceeds the limit of {self.limits.max_entries} (limit max_entries)"
            )
        records = self._read_central_directory(cd_offset, cd_size, entry_count)
        data_end = self._read_signing_block(cd_offset)
        self._resolve_entries(records, data_end)
        # Checking every local header faulted in pages (and their read-around) all over the file.
        self._buffer.release(0, self.size)

    def _find_central_directory(self) -> tuple[int, int, int]:
        """Locate the EOCD like Android: the last signature whose comment ends the file exactly."""
        data = self._buffer.data
        size = self.size
        search_start = max(0, size - _EOCD.size - _MAX_COMMENT)
        pos = size - _EOCD.size
        eocd_offset = -1
        saw_signature = False
        while pos >= search_start:
            pos = data.rfind(_EOCD_SIG, search_start, pos + 4)
            if pos < 0:
                break
            saw_signature = True
            comment_length = struct.unpack_from("<H", data, pos + 20)[0]
            if pos + _EOCD.size + comment_length == size:
                eocd_offset = pos
                break
            pos -= 1
        if eocd_offset < 0:
            if saw_signature:
                raise UnreadableInputError(
                    "end-of-central-directory record does not end the file (extra bytes after it, "
                    "or the file is truncated): not a valid APK"
                )
            raise UnreadableInputError(
                "no end-of-central-directory record in the last 64 KiB: not a ZIP archive, or truncated"
            )
        if data.find(_EOCD_SIG, eocd_offset + 4, size) >= 0:
            self._warn(
                "eocd_signature_in_comment", "the archive comment contains an end-of-central-directory signature"
            )
        (_, disk, cd_disk, entries_on_disk, entries_total, cd_size, cd_offset, _) = _EOCD.unpack_from(data, eocd_offset)
        cd_end_limit = eocd_offset
        locator_offset = eocd_offset - _ZIP64_LOCATOR.size
        if locator_offset >= 0 and data[locator_offset : locator_offset + 4] == _ZIP64_LOCATOR_SIG:
            cd_offset, cd_size, entries_total, entries_on_disk, disk, cd_disk, cd_end_limit = self._read_zip64(
                locator_offset
            )
        if disk != 0 or cd_disk != 0 or entries_on_disk != entries_total:
            raise UnreadableInputError("the archive spans several disks (split ZIP): not a valid APK")
        if cd_offset + cd_size > cd_end_limit:
            raise UnreadableInputError(
                f"central directory (offset {cd_offset}, {cd_size} bytes) runs past the end-of-central-directory "
                f"record at {cd_end_limit}: truncated or corrupt"
            )
        if cd_offset + cd_size < cd_end_limit:
            self._warn(
                "gap_before_eocd",
                f"{cd_end_limit - cd_offset - cd_size} unexplained bytes between the central directory and its end record",
            )
        return cd_offset, cd_size, entries_total

    def _read_zip64(self, locator_offset: int) -> tuple[int, int, int, int, int, int, int]:
        data = self._buffer.data
        _, _, record_offset, _ = _ZIP64_LOCATOR.unpack_from(data, locator_offset)
        if (
            record_offset + _ZIP64_EOCD.size > locator_offset
            or data[record_offset : record_offset + 4] != _ZIP64_EOCD_SIG
        ):
            raise UnreadableInputError(
                f"ZIP64 end-of-central-directory record not found at offset {record_offset}: truncated or corrupt"
            )
        (_, _, _, _, disk, cd_disk, on_disk, total, cd_size, cd_offset) = _ZIP64_EOCD.unpack_from(data, record_offset)
        return cd_offset, cd_size, total, on_disk, disk, cd_disk, record_offset

    def _read_central_directory(self, cd_offset: int, cd_size: int, entry_count: int) -> list[_CentralRecord]:
        data = self._buffer.data
        end = cd_offset + cd_size
        pos = cd_offset
        records: list[_CentralRecord] = []
        total_declared = 0
        names: set[str] = set()
        for index in range(entry_count):
            if pos + _CDH.size > end or data[pos : pos + 4] != _CDH_SIG:
                raise UnreadableInputError(
                    f"central directory entry #{index} at offset {pos} is missing or corrupt "
                    f"(the end record announces {entry_count} entries)"
                )
            (_, _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len, comment_len, _, _, _, lho) = (
                _CDH.unpack_from(data, pos)
            )
            record_end = pos + _CDH.size + name_len + extra_len + comment_len
            if record_end > end:
                raise UnreadableInputError(
                    f"central directory entry #{index} runs past the end of the central directory: truncated or corrupt"
                )
            raw_name = bytes(data[pos + _CDH.size : pos + _CDH.size + name_len])
            extra = bytes(data[pos + _CDH.size + name_len : pos + _CDH.size + name_len + extra_len])
            if name_len > self.limits.max_name_length:
                raise LimitExceededError(
                    f"entry #{index} has a {name_len}-byte name, over the limit of "
                    f"{self.limits.max_name_length} (limit max_name_length)"
                )
            name = self._decode_name(raw_name, flags, index)
            self._check_name(name, raw_name, index)
            if name in names:
                raise HostileApkError(
                    f"duplicate entry name {name!r}: Android refuses archives with duplicate names "
                    "(the 'master key' trick shows a different file to different readers)"
                )
            names.add(name)
            if 0xFFFFFFFF in (csize, usize, lho):
                usize, csize, lho = _apply_zip64_extra(name, extra, usize, csize, lho)
            total_declared += usize
            if total_declared > self.limits.max_total_size:
                raise LimitExceededError(
                    f"declared uncompressed sizes add up past {_human_size(self.limits.max_total_size)} "
                    f"at entry {name!r} (limit max_total_size)"
                )
            records.append(_CentralRecord(name, raw_name, method, flags, crc, csize, usize, lho))
            pos = record_end
        if pos != end:
            self._warn(
                "central_directory_slack",
                f"{end - pos} bytes in the central directory after its {entry_count} announced entries",
            )
        return records

    def _decode_name(self, raw_name: bytes, flags: int, index: int) -> str:
        # Android treats names as UTF-8 bytes whatever the flag says; tools that
        # write APKs almost never set bit 11. Fall back to CP437 (the ZIP default)
        # so that a non-UTF-8 name still gets a stable, reversible spelling.
        try:
            return raw_name.decode("utf-8")
        except UnicodeDecodeError:
            name = raw_name.decode("cp437")
            self._warn(
                "name_not_utf8",
                f"entry #{index} name is not valid UTF-8{' despite the UTF-8 flag' if flags & FLAG_UTF8 else ''}; "
                "decoded as CP437",
                name,
            )
            return name

    def _check_name(self, name: str, raw_name: bytes, index: int) -> None:
        if b"\x00" in raw_name:
            raise HostileApkError(
                f"entry #{index} name {name!r} contains a NUL byte: C-string readers see a different name"
            )
        if not name:
            self._warn("empty_name", f"entry #{index} has an empty name")
            return
        if name.startswith(("/", "\\")) or _DRIVE_PREFIX.match(name):
            raise HostileApkError(
                f"entry name {name!r} is an absolute path (extraction would write outside the target)"
            )
        if ".." in name and ".." in _SEPARATORS.split(name):
            raise HostileApkError(f"entry name {name!r} contains '..' (path traversal, 'zip slip')")

    def _read_signing_block(self, cd_offset: int) -> int:
        """Find the APK Signing Block just before the central directory; return where entry data must end."""
        data = self._buffer.data
        footer = cd_offset - 24
        if footer < 8 or data[footer + 8 : cd_offset] != _SIGNING_BLOCK_MAGIC:
            return cd_offset
        block_size = struct.unpack_from("<Q", data, footer)[0]
        start = cd_offset - block_size - 8
        if block_size < 24 or start < 0 or struct.unpack_from("<Q", data, start)[0] != block_size:
            self._warn(
                "signing_block_malformed",
                "the APK Signing Block's size fields are inconsistent; signatures v2+ cannot be read",
                f"offset {footer}",
            )
            return cd_offset
        if block_size + 8 > _MAX_SIGNING_BLOCK:
            self._warn(
                "signing_block_too_large",
                f"the APK Signing Block is {block_size + 8} bytes, over {_human_size(_MAX_SIGNING_BLOCK)}; not read",
                f"offset {start}",
            )
            return start
        self.signing_block = bytes(data[start:cd_offset])
        return start

    def _resolve_entries(self, records: list[_CentralRecord], data_end: int) -> None:
        data = self._buffer.data
        spans: list[tuple[int, int, str]] = []
        # Each header read faults in its page and the kernel maps the pages around it too: over
        # thousands of entries that is most of the file resident at once (12 MB of a 17 MB APK),
        # so the pages behind each batch of headers are let go as the check moves on.
        touched_low, touched_high = self.size, 0
        for count, record in enumerate(records, 1):
            if count % _HEADER_BATCH == 0:
                self._buffer.release(max(0, touched_low - _FAULT_AROUND), touched_high + _FAULT_AROUND)
                touched_low, touched_high = self.size, 0
            lho = record.local_header_offset
            touched_low, touched_high = min(touched_low, lho), max(touched_high, lho + _LFH.size + 0xFFFF)
            if lho + _LFH.size > self.size:
                raise UnreadableInputError(
                    f"entry {record.name!r} local header at offset {lho} is past the end of the file "
                    f"({self.size} bytes): truncated or corrupt"
                )
            if data[lho : lho + 4] != _LFH_SIG:
                raise UnreadableInputError(
                    f"entry {record.name!r} has no local header at offset {lho}: corrupt archive"
                )
            (_, _, lflags, lmethod, _, _, lcrc, lcsize, lusize, lname_len, lextra_len) = _LFH.unpack_from(data, lho)
            local_name = bytes(data[lho + _LFH.size : lho + _LFH.size + lname_len])
            if local_name != record.raw_name:
                raise HostileApkError(
                    f"entry {record.name!r}: local header names it {local_name.decode('utf-8', 'replace')!r} "
                    "(local/central name mismatch shows different files to different readers)"
                )
            if lmethod != record.method:
                raise HostileApkError(
                    f"entry {record.name!r}: local header says compression method {lmethod}, "
                    f"central directory says {record.method} (header mismatch trick)"
                )
            if not lflags & FLAG_DATA_DESCRIPTOR and not record.flags & FLAG_DATA_DESCRIPTOR:
                local_sizes = (lcrc, lcsize, lusize)
                central_sizes = (record.crc32, record.compressed_size, record.uncompressed_size)
                if 0xFFFFFFFF not in (lcsize, lusize) and local_sizes != central_sizes:
                    raise HostileApkError(
                        f"entry {record.name!r}: local header declares crc/sizes {_fmt_sizes(local_sizes)}, "
                        f"central directory {_fmt_sizes(central_sizes)} (header mismatch trick)"
                    )
            data_offset = lho + _LFH.size + lname_len + lextra_len
            data_stop = data_offset + record.compressed_size
            if data_stop > self.size:
                raise UnreadableInputError(
                    f"entry {record.name!r} data ({record.compressed_size} bytes at offset {data_offset}) "
                    f"runs past the end of the file ({self.size} bytes): truncated or corrupt"
                )
            if data_stop > data_end:
                region = "APK Signing Block" if self.signing_block is not None else "central directory"
                raise HostileApkError(
                    f"entry {record.name!r} data (offset {data_offset}..{data_stop}) overlaps the "
                    f"{region} starting at {data_end}"
                )
            if record.flags & FLAG_ENCRYPTED:
                self._warn(
                    "encrypted_flag",
                    "the 'encrypted' flag is set; Android ignores it and so do we (an anti-analysis trick)",
                    record.name,
                )
            if record.method not in (METHOD_STORED, METHOD_DEFLATED):
                self._warn(
                    "unknown_compression_method",
                    f"compression method {record.method} is not STORED or DEFLATED; Android 9+ reads it as "
                    "stored (an anti-analysis trick)",
                    record.name,
                )
            self._warn_if_over_limits(record)
            entry = ZipEntry(
                name=record.name,
                method=record.method,
                flags=record.flags,
                crc32=record.crc32,
                compressed_size=record.compressed_size,
                uncompressed_size=record.uncompressed_size,
                local_header_offset=lho,
                data_offset=data_offset,
            )
            self.entries.append(entry)
            self._by_name[entry.name] = entry
            spans.append((lho, data_stop, entry.name))
        self._check_overlaps(spans)

    def _warn_if_over_limits(self, record: _CentralRecord) -> None:
        # Reading such an entry will fail; say so up front so the evidence notes what was skipped.
        limits = self.limits
        usize, csize = record.uncompressed_size, record.compressed_size
        if usize > limits.max_entry_size:
            self._warn(
                "entry_over_limit",
                f"declares {usize} bytes uncompressed, over {_human_size(limits.max_entry_size)} (max_entry_size); "
                "it will not be read",
                record.name,
            )
        elif usize > _RATIO_EXEMPT_BYTES and usize > limits.max_ratio * csize:
            self._warn(
                "entry_over_limit",
                f"declares a compression ratio of {usize / max(csize, 1):.0f}:1, over {limits.max_ratio:g}:1 "
                "(max_ratio); it will not be read",
                record.name,
            )

    def _check_overlaps(self, spans: list[tuple[int, int, str]]) -> None:
        spans.sort()
        if spans and spans[0][0] > 0:
            self._check_preamble(spans[0][0])
        # Compare with the furthest end so far: one large span may contain several later ones.
        furthest_end, furthest_name = -1, ""
        for start, stop, name in spans:
            if start < furthest_end:
                raise HostileApkError(
                    f"entries {furthest_name!r} and {name!r} overlap in the file (at offset {start}): "
                    "a zip-bomb-by-overlap or one file shown under two names"
                )
            if stop > furthest_end:
                furthest_end, furthest_name = stop, name

    def _check_preamble(self, first_offset: int) -> None:
        head = bytes(self._buffer.data[:4])
        if head == _DEX_MAGIC_PREFIX:
            raise HostileApkError(
                f"the file starts with a DEX file ({first_offset} bytes before the first entry): "
                "a Janus (CVE-2017-13156) APK that runs different code than it shows"
            )
        self._warn("leading_bytes", f"{first_offset} bytes before the first entry (self-extractor stub or hidden data)")

    def _warn(self, code: str, message: str, where: str | None = None) -> None:
        self.warnings.append(ArchiveWarning(code, message, where))

    # ----------------------------------------------------------------- queries
    def names(self) -> list[str]:
        """Entry names in central-directory order."""
        return [entry.name for entry in self.entries]

    def has(self, name: str) -> bool:
        return name in self._by_name

    def entry(self, name: str) -> ZipEntry:
        """The entry called ``name``; UnreadableInputError (not KeyError) if absent."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnreadableInputError(f"entry {name!r} is not in the archive") from None

    def iter_prefix(self, prefix: str) -> Iterator[ZipEntry]:
        """Entries whose name starts with ``prefix``, in central-directory order."""
        return (entry for entry in self.entries if entry.name.startswith(prefix))

    # ----------------------------------------------------------------- reading
    def read(self, name: str) -> bytes:
        """The uncompressed bytes of one entry, inflated within the limits and CRC-checked.

        Never trusts the declared size: inflation stops as soon as the output passes
        ``max_entry_size`` or, for outputs over 1 MiB, ``max_ratio`` times the
        compressed size. Raises LimitExceededError for those, MalformedStructureError
        for corrupt data or a CRC mismatch (only this entry is affected).
        """
        entry = self.entry(name)
        if entry.method != METHOD_DEFLATED and entry.compressed_size == entry.uncompressed_size:
            # Stored data is one slice of the file: copy it once instead of chunk-and-join.
            self._ensure_open()
            self._check_declared(entry, self._budget(entry))
            start = entry.data_offset
            content = bytes(self._buffer.data[start : start + entry.compressed_size])
            self._buffer.release(start, start + entry.compressed_size)
            self._check_crc(entry, zlib.crc32(content))
            return content
        # BytesIO grows one buffer in place and getvalue() hands that buffer over without a copy,
        # so a large entry (classes.dex) peaks near one copy instead of chunks plus their join.
        out = io.BytesIO()
        for chunk in self.iter_read(entry):
            out.write(chunk)
        return out.getvalue()

    def read_mapped(self, name: str) -> bytes | mmap.mmap:
        """Like :meth:`read`, into an anonymous memory map of its own when the entry spans pages.

        A reader that is done with part of a large entry can hand those pages back with
        ``madvise`` (see DexFile.release_pages) while it goes on reading the rest; a bytes object
        holds all of its pages until the last reference goes. Entries under 1 MiB, and platforms
        without private maps and ``madvise``, get bytes as from :meth:`read`.
        """
        entry = self.entry(name)
        if entry.uncompressed_size < _MAPPED_MIN_BYTES or not CAN_RELEASE_PAGES:
            return self.read(name)
        # Checked before the map is made: a declared size over the limits maps nothing.
        self._check_declared(entry, self._budget(entry))
        out = private_map(entry.uncompressed_size)
        try:
            position = 0
            for chunk in self.iter_read(entry):  # stops (and raises) at the first byte past the declared size
                out[position : position + len(chunk)] = chunk
                position += len(chunk)
        except BaseException:
            out.close()
            raise
        return out

    def iter_read(self, entry: ZipEntry, chunk_bytes: int = _OUTPUT_CHUNK) -> Iterator[bytes]:
        """The uncompressed bytes of ``entry`` in chunks of at most ``chunk_bytes`` (for hashing large
        entries without holding them, or reading the head of one without inflating more).

        The CRC and size checks run when the last chunk has been produced.
        """
        self._ensure_open()
        budget = self._budget(entry)
        self._check_declared(entry, budget)
        if entry.method == METHOD_DEFLATED:
            chunks = self._inflate(entry, budget, max(1, chunk_bytes))
        else:
            if entry.compressed_size != entry.uncompressed_size:
                what = "stored" if entry.method == METHOD_STORED else f"compression method {entry.method}"
                raise MalformedStructureError(
                    f"entry {entry.name!r} uses {what} but declares {entry.compressed_size} bytes compressed and "
                    f"{entry.uncompressed_size} uncompressed; cannot read it"
                )
            chunks = self._copy_stored(entry, max(1, min(chunk_bytes, _INFLATE_CHUNK)))
        crc = 0
        produced = 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            produced += len(chunk)
            yield chunk
        self._buffer.release(entry.data_offset, entry.data_offset + entry.compressed_size)
        if produced != entry.uncompressed_size:
            raise MalformedStructureError(
                f"entry {entry.name!r} inflates to {produced} bytes but declares {entry.uncompressed_size}"
            )
        self._check_crc(entry, crc)

    def _budget(self, entry: ZipEntry) -> int:
        """Most bytes ``entry`` may inflate to under the entry-size and ratio limits."""
        limits = self.limits
        return min(limits.max_entry_size, max(_RATIO_EXEMPT_BYTES, int(limits.max_ratio * entry.compressed_size)))

    @staticmethod
    def _check_crc(entry: ZipEntry, crc: int) -> None:
        if crc != entry.crc32:
            raise MalformedStructureError(
                f"entry {entry.name!r} fails its CRC check (declared {entry.crc32:#010x}, computed {crc:#010x})"
            )

    def _check_declared(self, entry: ZipEntry, budget: int) -> None:
        limits = self.limits
        if entry.uncompressed_size > limits.max_entry_size:
            raise LimitExceededError(
                f"entry {entry.name!r} declares {entry.uncompressed_size} bytes uncompressed, over "
                f"{_human_size(limits.max_entry_size)} (limit max_entry_size)"
            )
        if entry.uncompressed_size > budget:
            raise LimitExceededError(
                f"entry {entry.name!r} declares a compression ratio of "
                f"{entry.uncompressed_size / max(entry.compressed_size, 1):.0f}:1, over {limits.max_ratio:g}:1 "
                "(limit max_ratio)"
            )

    def _copy_stored(self, entry: ZipEntry, chunk_bytes: int) -> Iterator[bytes]:
        data = self._buffer.data
        for start in range(entry.data_offset, entry.data_offset + entry.compressed_size, chunk_bytes):
            self._ensure_open()
            stop = min(start + chunk_bytes, entry.data_offset + entry.compressed_size)
            chunk = bytes(data[start:stop])
            self._buffer.release(start, stop)  # copied: see _inflate
            yield chunk

    def _inflate(self, entry: ZipEntry, budget: int, chunk_bytes: int) -> Iterator[bytes]:
        data = self._buffer.data
        limits = self.limits
        # Stop at whichever comes first: the limit budget or the declared size (a size
        # lie is caught at its first extra byte instead of after inflating a bomb).
        cap = min(budget, entry.uncompressed_size)
        inflater = _inflate_backend.decompressobj(-zlib.MAX_WBITS)
        produced = 0
        position = entry.data_offset
        end = entry.data_offset + entry.compressed_size
        pending = b""
        while True:
            if not pending and position < end:
                self._ensure_open()
                pending = bytes(data[position : min(position + _INFLATE_CHUNK, end)])
                # Copied: the mapped pages can go now rather than when the entry ends, so a large
                # entry does not keep its compressed bytes resident beside what it inflates to.
                self._buffer.release(position, position + len(pending))
                position += len(pending)
            fed = len(pending)
            try:
                # Bounded output per call; one byte past the cap is enough to know it is exceeded.
                chunk = inflater.decompress(pending, min(chunk_bytes, cap - produced + 1))
            except (zlib.error, _inflate_backend.error) as exc:
                raise MalformedStructureError(f"entry {entry.name!r} has corrupt deflate data: {exc}") from None
            pending = inflater.unconsumed_tail
            produced += len(chunk)
            if produced > cap:
                if entry.uncompressed_size < budget:
                    raise HostileApkError(
                        f"entry {entry.name!r} inflates past its declared size of {entry.uncompressed_size} bytes"
                    )
                if cap == limits.max_entry_size:
                    raise LimitExceededError(
                        f"entry {entry.name!r} inflates past {_human_size(limits.max_entry_size)} "
                        "(limit max_entry_size)"
                    )
                raise LimitExceededError(
                    f"entry {entry.name!r} inflates past {cap} bytes from {entry.compressed_size} "
                    f"compressed, a ratio over {limits.max_ratio:g}:1 (limit max_ratio)"
                )
            if chunk:
                yield chunk
            if inflater.eof or (not chunk and fed == 0):
                # Input exhausted and zlib has nothing more buffered.
                break
        if not inflater.eof:
            raise MalformedStructureError(
                f"entry {entry.name!r} deflate data ends early ({entry.compressed_size} compressed bytes): corrupt"
            )

    # --------------------------------------------------------------- lifecycle
    def _ensure_open(self) -> None:
        if self._closed:
            raise UnreadableInputError(f"archive {self.path or '<bytes>'} is closed")

    def close(self) -> None:
        """Release the file and its memory map. Safe to call twice."""
        self._closed = True
        self._buffer.close()

    def __enter__(self) -> ApkArchive:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ApkArchive(path={self.path!r}, size={self.size}, entries={len(self.entries)})"


def _fmt_sizes(values: tuple[int, int, int]) -> str:
    return f"crc={values[0]:#010x} compressed={values[1]} uncompressed={values[2]}"


def _apply_zip64_extra(name: str, extra: bytes, usize: int, csize: int, lho: int) -> tuple[int, int, int]:
    """Replace 0xFFFFFFFF fields by their ZIP64 extra-field values (in the order the spec fixes)."""
    pos = 0
    while pos + 4 <= len(extra):
        header_id, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        if len(body) != length:
            break
        if header_id == _ZIP64_EXTRA_ID:
            values = list(struct.unpack_from(f"<{len(body) // 8}Q", body)) if len(body) >= 8 else []
            fields = [usize, csize, lho]
            for i, value in enumerate(fields):
                if value == 0xFFFFFFFF:
                    if not values:
                        raise UnreadableInputError(f"entry {name!r}: ZIP64 extra field is too short")
                    fields[i] = values.pop(0)
            return fields[0], fields[1], fields[2]
        pos += 4 + length
    raise UnreadableInputError(f"entry {name!r} has 32-bit overflow markers but no ZIP64 extra field")


#: A central-directory header whose name is classes.dex, classes2.dex...: its uncompressed size and name length.
_DEX_RECORD = re.compile(rb"PK\x01\x02.{20}(.{4})(.{2}).{16}(classes\d*\.dex)", re.DOTALL)
#: Central directories larger than this are not read for an estimate (100,000 entries of long names).
_MAX_ESTIMATE_DIRECTORY: Final = 32 * _MIB


def declared_dex_size(path: str | os.PathLike[str]) -> int | None:
    """The uncompressed size its central directory declares for the APK's classes*.dex, or None.

    For ordering work only (a folder scan starts the APKs with the most code first, and the file
    size says little of that: DEX files compress 2x to 100x). Nothing is validated: a lying
    directory only changes an APK's place in the queue, and the scan itself reads it defensively.
    It reads the file's end and its central directory, never its entries, so it costs about a
    millisecond where opening the archive costs tens. None for anything it cannot read quickly.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            tail_start = max(0, size - _EOCD.size - _MAX_COMMENT)
            f.seek(tail_start)
            tail = f.read()
            eocd = tail.rfind(_EOCD_SIG)
            if eocd < 0 or eocd + _EOCD.size > len(tail):
                return None
            cd_size, cd_offset = _EOCD.unpack_from(tail, eocd)[5:7]
            if cd_offset + cd_size > tail_start + eocd or cd_size > _MAX_ESTIMATE_DIRECTORY:
                return None  # ZIP64 (0xFFFFFFFF markers), truncated or absurd: no estimate
            f.seek(cd_offset)
            directory = f.read(cd_size)
    except OSError:
        return None
    total = 0
    for match in _DEX_RECORD.finditer(directory):
        usize, name_length = struct.unpack("<IH", match.group(1) + match.group(2))
        if name_length == len(match.group(3)) and usize != 0xFFFFFFFF:
            total += usize
    return total
