"""Tests of signer-certificate extraction (appwarden.apk.signing)."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import random
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from apk import hostile
from appwarden.apk.signing import (
    SCHEME_BLOCK_IDS,
    SignerCertificate,
    parse_signing_block,
    read_signers,
    signers_from_scheme_block,
    signers_from_v1_block,
)
from appwarden.apk.zip import ApkArchive
from appwarden.errors import MalformedStructureError
from support import EXAMPLES

FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")
V2, V3, V31 = 0x7109871A, 0xF05368C0, 0x1B93AD61
_TOOLS = ("aapt", "zipalign", "apksigner", "keytool")
# Short-lived JVMs (keytool, apksigner) start faster without the optimising compiler.
_JAVA_ENV = {**os.environ, "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


def _certificate(
    common_name: str, serial: int = 0x1234ABCD, country: str = "CN"
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    # _validate=False lets a test carry what real certificates carry (NetEase's Yosemite.apk: C=000001).
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.COUNTRY_NAME, country, _validate=False),
        ]
    )
    start = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


# ------------------------------------------------------------------ synthetic blocks
def test_v2_v3_v31_signers_are_read_from_the_signing_block() -> None:
    first, _ = _certificate("Old Signer", serial=0x0A)
    second, _ = _certificate("New Signer", serial=0xBEEF)
    pairs = [
        (V2, hostile.scheme_block([[_der(first)]])),
        (V3, hostile.scheme_block([[_der(first)]], v3=True)),
        (V31, hostile.scheme_block([[_der(second), _der(first)]], v3=True)),
        (0x42726577, b"verity padding or another vendor block"),
    ]
    with ApkArchive.open(hostile.with_signing_block(pairs)) as archive:
        signers = read_signers(archive)
        assert archive.warnings == []
    assert [s.scheme for s in signers] == ["v2", "v3", "v3.1"]
    assert signers[2] == SignerCertificate(
        scheme="v3.1",
        subject="C=CN,CN=New Signer",
        issuer="C=CN,CN=New Signer",
        serial_number="beef",
        sha256=hashlib.sha256(_der(second)).hexdigest(),
        not_before="2024-01-02T03:04:05+00:00",
        not_after="2033-12-30T03:04:05+00:00",
    )
    assert signers[0].sha256 == signers[1].sha256 == hashlib.sha256(_der(first)).hexdigest()
    assert signers[0].serial_number == "a"


def test_v1_returns_the_signer_named_by_signer_info_not_every_certificate() -> None:
    signer, key = _certificate("JAR Signer", serial=77)
    extra, _ = _certificate("Chain Extra", serial=78)
    block = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(b"Signature-Version: 1.0\r\n")
        .add_signer(signer, key, hashes.SHA256())
        .add_certificate(extra)
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature])
    )
    assert len(pkcs7.load_der_pkcs7_certificates(block)) == 2
    builder = hostile.minimal_apk()
    builder.add("META-INF/CERT.SF", b"Signature-Version: 1.0\r\n")
    builder.add("META-INF/CERT.RSA", block)
    with ApkArchive.open(builder.build()) as archive:
        signers = read_signers(archive)
    assert [(s.scheme, s.subject, s.serial_number) for s in signers] == [("v1", "C=CN,CN=JAR Signer", "4d")]


@pytest.mark.filterwarnings("ignore:Attribute's length:UserWarning")  # building the odd certificate here
def test_a_nonconforming_certificate_is_read_and_reported_as_a_warning_not_on_stderr() -> None:
    odd, _ = _certificate("yosemite", serial=5, country="000001")
    pairs = [(V2, hostile.scheme_block([[_der(odd)]]))]
    with ApkArchive.open(hostile.with_signing_block(pairs)) as archive, warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        signers = read_signers(archive)
        codes = [(w.code, w.where) for w in archive.warnings]
    assert [s.subject for s in signers] == ["C=000001,CN=yosemite"]
    assert codes == [("certificate_nonconforming", "signatures")]
    assert escaped == []  # nothing reached the warnings module (stderr)


def test_unsigned_archive_has_no_signers() -> None:
    with ApkArchive.open(hostile.minimal_apk().build()) as archive:
        assert read_signers(archive) == []
        assert archive.warnings == []


MALFORMED_BLOCKS = [
    (b"short", r"missing magic"),
    (
        hostile.signing_block([(V2, b"x")])[:-17] + b"X" + hostile.signing_block([(V2, b"x")])[-16:],
        r"size fields disagree",
    ),
    (hostile.signing_block([(V2, b"a"), (V2, b"b")]), r"ID 0x7109871a appears twice"),
]


@pytest.mark.parametrize(("block", "message"), MALFORMED_BLOCKS)
def test_malformed_signing_block_raises_malformed_structure(block: bytes, message: str) -> None:
    with pytest.raises(MalformedStructureError, match=message):
        parse_signing_block(block)


def test_pair_with_impossible_length_is_malformed() -> None:
    block = bytearray(hostile.signing_block([(V2, b"value")]))
    block[8:16] = (2**40).to_bytes(8, "little")
    with pytest.raises(MalformedStructureError, match=r"pair at offset 8 has impossible length 1099511627776"):
        parse_signing_block(bytes(block))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"", r"signers truncated at offset 0"),
        (b"\xff\xff\xff\x7f", r"claims 2147483647 bytes"),
        (b"\x00\x00\x00\x00", r"no signers"),
        (hostile.scheme_block([[]]), r"signer #0 has no certificate"),
        (hostile.scheme_block([[b"not a certificate"]]), r"certificate is not valid X.509 DER"),
    ],
)
def test_malformed_scheme_block_raises_malformed_structure(value: bytes, message: str) -> None:
    with pytest.raises(MalformedStructureError, match=message):
        signers_from_scheme_block(value, "v2")


def test_malformed_schemes_become_warnings_and_do_not_hide_the_others() -> None:
    good, _ = _certificate("Good")
    pairs = [(V2, b"\x07\x00\x00\x00abc"), (V3, hostile.scheme_block([[_der(good)]], v3=True))]
    builder = hostile.minimal_apk(signing_block=hostile.signing_block(pairs))
    builder.add("META-INF/CERT.RSA", b"\x30\x03garbage")
    with ApkArchive.open(builder.build()) as archive:
        signers = read_signers(archive)
        read_signers(archive)  # a second call does not repeat warnings
        codes = [(w.code, w.where) for w in archive.warnings]
    assert [s.scheme for s in signers] == ["v3"]
    assert codes == [
        ("signature_v1_unreadable", "META-INF/CERT.RSA"),
        ("signature_v2_malformed", "APK Signing Block v2"),
    ]


def test_v1_block_that_is_not_pkcs7_is_malformed() -> None:
    with pytest.raises(MalformedStructureError, match=r"META-INF/X.RSA is not a PKCS#7 signature block"):
        signers_from_v1_block(b"\x00" * 40, where="META-INF/X.RSA")


def test_random_damage_to_scheme_blocks_never_escapes_as_a_traceback() -> None:
    certificate, _ = _certificate("Fuzz")
    value = hostile.scheme_block([[_der(certificate)]], v3=True)
    rng = random.Random(5)
    for _ in range(300):
        damaged = bytearray(value)
        for _ in range(rng.randrange(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        cut = bytes(damaged[: rng.randrange(len(damaged) + 1)]) if rng.random() < 0.3 else bytes(damaged)
        with contextlib.suppress(MalformedStructureError):
            signers_from_scheme_block(cut, "v3")


# ------------------------------------------------------------------ differential
@pytest.fixture(scope="module")
def rotated_apk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An APK signed v1+v2 by an RSA key and v3 by an EC key it rotated to (keytool keystores, apksigner lineage).

    One APK covers every scheme apksigner can write with two different signers, so that a
    reader mixing up schemes fails; JVM start-ups are what make this fixture slow.
    """
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing or not FRAMEWORK_RES.exists():
        pytest.skip(f"needs {', '.join(missing) or FRAMEWORK_RES} to build and sign an APK")
    root = tmp_path_factory.mktemp("signed")
    (root / "res" / "values").mkdir(parents=True)
    (root / "AndroidManifest.xml").write_text(
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="org.appwarden.signtest">'
        '<uses-sdk android:minSdkVersion="18"/><application android:label="@string/app_name"/></manifest>'
    )
    (root / "res" / "values" / "strings.xml").write_text('<resources><string name="app_name">Sign</string></resources>')

    def run(*args: str) -> None:
        subprocess.run(list(args), cwd=root, check=True, capture_output=True, env=_JAVA_ENV)

    run(
        "aapt",
        "package",
        "-f",
        "-M",
        "AndroidManifest.xml",
        "-S",
        "res",
        "-I",
        str(FRAMEWORK_RES),
        "-F",
        "unsigned.apk",
    )
    run("zipalign", "-f", "4", "unsigned.apk", "aligned.apk")
    for store, alias, algorithm, dname in (
        ("old.jks", "old", ["-keyalg", "RSA", "-keysize", "2048"], "CN=Appwarden Old, O=Appwarden, C=CN"),
        ("new.jks", "new", ["-keyalg", "EC", "-groupname", "secp256r1"], "CN=Appwarden New, C=CN"),
    ):
        run("keytool", "-genkeypair", "-keystore", store, "-storepass", "secret1", "-keypass", "secret1", "-alias", alias,
            *algorithm, "-validity", "365", "-dname", dname)  # fmt: skip
    old = ["--ks", "old.jks", "--ks-pass", "pass:secret1"]
    new = ["--ks", "new.jks", "--ks-pass", "pass:secret1"]
    schemes = ["--v1-signing-enabled", "true", "--v2-signing-enabled", "true", "--v3-signing-enabled", "true"]
    run("apksigner", "rotate", "--out", "lineage.bin", "--old-signer", *old, "--new-signer", *new)
    run(
        "apksigner",
        "sign",
        *old,
        "--next-signer",
        *new,
        "--lineage",
        "lineage.bin",
        *schemes,
        "--out",
        "rotated.apk",
        "aligned.apk",
    )
    return root / "rotated.apk"


def _apksigner_digest(path: Path, scheme: str) -> tuple[str, str]:
    """(DN, SHA-256) apksigner reports when verifying only for the platform range where ``scheme`` decides."""
    sdk_range = {"v1": ["18", "23"], "v2": ["24", "27"], "v3": ["28", "34"]}[scheme]
    output = subprocess.run(
        [
            "apksigner",
            "verify",
            "-v",
            "--print-certs",
            "--min-sdk-version",
            sdk_range[0],
            "--max-sdk-version",
            sdk_range[1],
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=_JAVA_ENV,
    ).stdout
    label = {"v1": "v1 scheme (JAR signing)", "v2": "v2 scheme", "v3": "v3 scheme"}[scheme]
    assert re.search(rf"Verified using {re.escape(label)}.*: true", output), output
    dn = re.search(r"Signer #1 certificate DN: (.+)", output)
    digest = re.search(r"Signer #1 certificate SHA-256 digest: ([0-9a-f]{64})", output)
    assert dn and digest, output
    return dn.group(1), digest.group(1)


@pytest.mark.tools
def test_signers_match_apksigner_per_scheme(rotated_apk: Path) -> None:
    with ApkArchive.open(rotated_apk) as archive:
        signers = read_signers(archive)
        assert archive.warnings == []
    by_scheme = {s.scheme: s for s in signers}
    assert sorted(by_scheme) == ["v1", "v2", "v3"]
    for scheme, signer in by_scheme.items():
        dn, digest = _apksigner_digest(rotated_apk, scheme)
        assert signer.sha256 == digest, scheme
        # apksigner separates RDNs with ", "; RFC 4514 with ",".
        assert signer.subject == dn.replace(", ", ","), scheme
    assert by_scheme["v1"].subject == by_scheme["v2"].subject == "CN=Appwarden Old,O=Appwarden,C=CN"
    assert by_scheme["v3"].subject == "CN=Appwarden New,C=CN"
    assert by_scheme["v3"].sha256 != by_scheme["v2"].sha256


@pytest.mark.tools
def test_signers_match_androguard(rotated_apk: Path) -> None:
    apk_module = pytest.importorskip("androguard.core.apk")
    reference = apk_module.APK(str(rotated_apk))
    with ApkArchive.open(rotated_apk) as archive:
        signers = read_signers(archive)

    def ours(scheme: str) -> list[str]:
        return [s.sha256 for s in signers if s.scheme == scheme]

    assert ours("v1") == [hashlib.sha256(c.dump()).hexdigest() for c in reference.get_certificates_v1()]
    assert ours("v2") == [hashlib.sha256(d).hexdigest() for d in reference.get_certificates_der_v2()]
    assert ours("v3") == [hashlib.sha256(d).hexdigest() for d in reference.get_certificates_der_v3()]


def test_signers_of_bundled_examples_match_androguard() -> None:
    apk_module = pytest.importorskip("androguard.core.apk")
    examples = sorted(EXAMPLES.glob("*.apk"))
    if not examples:
        pytest.skip("no sample apps under examples/ (run `make fixtures`)")
    for path in examples:
        reference = apk_module.APK(str(path))
        with ApkArchive.open(path) as archive:
            signers = read_signers(archive)
        for scheme, ders in (
            ("v1", [c.dump() for c in reference.get_certificates_v1()]),
            ("v2", reference.get_certificates_der_v2()),
            ("v3", reference.get_certificates_der_v3()),
        ):
            ours = [s.sha256 for s in signers if s.scheme == scheme]
            assert ours == [hashlib.sha256(der).hexdigest() for der in ders], (path.name, scheme)


def test_scheme_ids_are_the_published_ones() -> None:
    assert SCHEME_BLOCK_IDS == {V2: "v2", V3: "v3", V31: "v3.1"}
