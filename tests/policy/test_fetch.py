"""Fetching a policy page: against a local HTTP server (no network), with the SSRF and size guards."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from appwarden.errors import PolicyDocumentError
from appwarden.evidence.model import Evidence, PrivacyPolicySignals
from appwarden.evidence.policy import fetch as fetch_module
from appwarden.evidence.policy.fetch import fetch_policy
from appwarden.pipeline import read_linked_policy, read_policy_url

DATA = Path(__file__).parent / "data"
POLICY_GBK = (DATA / "sample_policy.html").read_text(encoding="utf-8").replace('charset="utf-8"', "")


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
            pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/privacy.html":
            body = POLICY_GBK.encode("gbk")
            self._send(200, body, {"Content-Type": "text/html; charset=gbk", "Content-Length": str(len(body))})
        elif path == "/r1":
            self._send(302, b"", {"Location": "/r2", "Content-Length": "0"})
        elif path == "/r2":
            self._send(301, b"", {"Location": "/privacy.html", "Content-Length": "0"})
        elif path == "/loop":
            self._send(302, b"", {"Location": "/loop", "Content-Length": "0"})
        elif path == "/huge-declared":
            self._send(200, b"x", {"Content-Type": "text/html", "Content-Length": str(10**9)})
        elif path == "/huge-streamed":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for _ in range(64):
                self.wfile.write("隐私政策".encode() * 1024)
        elif path == "/shell":
            body = b"<html><head><title>Privacy</title></head><body><div id=app></div><script src=a.js></script></body></html>"
            self._send(200, body, {"Content-Type": "text/html", "Content-Length": str(len(body))})
        elif path == "/slow":
            time.sleep(2)
            self._send(200, b"late", {"Content-Type": "text/plain", "Content-Length": "4"})
        else:
            self._send(404, b"not here", {"Content-Type": "text/plain", "Content-Length": "8"})


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_gbk_policy_page_is_fetched_and_analysed(site: str) -> None:
    fetched = fetch_policy(f"{site}/r1", allow_private=True)
    assert fetched.final_url == f"{site}/privacy.html" and fetched.status == 200
    assert fetched.media_type == "text/html; charset=gbk"
    analysis = read_policy_url(f"{site}/r1", allow_private_network=True)
    assert analysis.encoding in ("gbk", "gb18030") and analysis.source == f"{site}/privacy.html"
    assert analysis.facts.operator == "杭州示例科技有限公司"


def test_pages_that_are_not_documents_are_clear_errors(site: str) -> None:
    cases = {
        "/loop": "redirects more than",
        "/missing": "HTTP 404",
        "/huge-declared": "over the limit",
    }
    for path, message in cases.items():
        with pytest.raises(PolicyDocumentError, match=message):
            fetch_policy(site + path, allow_private=True)
    with pytest.raises(PolicyDocumentError, match="over the limit of 65536 bytes"):
        fetch_policy(f"{site}/huge-streamed", allow_private=True, max_bytes=65536)
    with pytest.raises(PolicyDocumentError, match="ReadTimeout"):
        fetch_policy(f"{site}/slow", allow_private=True, timeout=0.3)
    with pytest.raises(PolicyDocumentError, match="filled in by a script"):
        read_policy_url(f"{site}/shell", allow_private_network=True)
    for url in ("file:///etc/passwd", "ftp://example.com/p.html", "http:///nohost", "not a url"):
        with pytest.raises(PolicyDocumentError):
            fetch_policy(url)


def test_internal_addresses_are_refused_unless_allowed(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PolicyDocumentError, match="non-public address"):
        fetch_policy(f"{site}/privacy.html")
    # A public name that redirects inside is stopped at the redirect: every hop is checked.
    answers = {"policy.example": "93.184.216.34", "intranet.example": "10.0.0.7", "meta.example": "169.254.169.254"}

    def resolve(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", resolve)

    def respond(request: httpx.Request) -> httpx.Response:
        target = {"/to-intranet": "http://intranet.example/admin", "/to-metadata": "http://meta.example/latest"}
        return httpx.Response(302, headers={"Location": target[request.url.path]})

    transport = httpx.MockTransport(respond)
    for path in ("/to-intranet", "/to-metadata"):
        with pytest.raises(PolicyDocumentError, match="non-public address"):
            fetch_policy(f"http://policy.example{path}", transport=transport)


def test_the_linked_policy_page_is_tried_privacy_links_first(site: str) -> None:
    evidence = Evidence.without_app().model_copy(
        update={
            "privacy_policy": PrivacyPolicySignals(
                urls=[f"{site}/agreement.html", f"{site}/privacy-old.html", f"{site}/r1?privacy=1"]
            )
        }
    )
    analysis, judged = read_linked_policy(evidence, allow_private_network=True)
    assert analysis is not None and analysis.source == f"{site}/privacy.html"
    # The user agreement is not tried; the dead privacy link is a warning saying why.
    assert [(w.code, w.where) for w in judged.warnings] == [("linked_policy_unreadable", f"{site}/privacy-old.html")]
    # Without permission to reach this (private) address nothing is fetched, and each refusal is said.
    analysis, judged = read_linked_policy(evidence)
    assert analysis is None and len(judged.warnings) == 2
    assert all("non-public" in w.message for w in judged.warnings)


def test_cli_reads_a_policy_page(site: str) -> None:
    from appwarden.cli.policy import app as policy_app

    runner = CliRunner()
    result = runner.invoke(policy_app, ["analyse", "--url", f"{site}/privacy.html", "--allow-private-network"])
    assert result.exit_code == 0, result.output
    assert "杭州示例科技有限公司" in result.output and "findings on the policy alone" in result.output
    refused = runner.invoke(policy_app, ["analyse", "--url", f"{site}/privacy.html"])
    assert refused.exit_code == 3 and "non-public" in refused.output
    assert runner.invoke(policy_app, ["analyse"]).exit_code == 2


def test_scan_reads_a_policy_page_and_refuses_ambiguous_policy_options(
    site: str, examples_dir: Path, tmp_path: Path
) -> None:
    from appwarden.cli import app as cli_app
    from appwarden.pipeline import scan_apk

    apk = examples_dir / "plain.apk"
    if not apk.exists():
        pytest.skip("sample apps are not built (run `make fixtures`)")
    report = scan_apk(apk, policy_url=f"{site}/privacy.html", allow_private_network=True, include_evidence=False)
    assert report.policy is not None and report.policy["source"] == f"{site}/privacy.html"
    runner = CliRunner()
    both = runner.invoke(
        cli_app, ["scan", str(apk), "--policy", str(DATA / "sample_policy.html"), "--policy-url", f"{site}/p"]
    )
    assert both.exit_code == 2 and "not both" in both.output
    folder = runner.invoke(cli_app, ["scan", str(examples_dir), "--policy-url", f"{site}/privacy.html"])
    assert folder.exit_code == 2 and "one APK" in folder.output
