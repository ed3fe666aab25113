"""Fetch a privacy policy from the web page an app links to.

Most apps do not bundle their policy; they link a page. A lab that judges the app
needs that page, fetched the way a user's browser would get it, but a server that
fetches addresses taken from untrusted APKs must not become a way into the
network it runs in. So:

- only ``http``/``https``, at most ``MAX_REDIRECTS`` redirects, each one re-checked;
- every address a host name resolves to must be public (not loopback, private,
  link-local, multicast, reserved or unspecified) unless the caller allows private
  networks (a lab's own intranet mirror, the tests' local server);
- the body is streamed and refused past ``max_bytes``; connect/read timeouts bound
  a slow server, and a total deadline bounds one that trickles bytes;
- the response's media type (with its charset) goes to the document reader, which
  decides HTML, text, PDF or DOCX and the encoding as for a file.

A host name is resolved for the check and again by the HTTP client, so a name whose
answer changes in between (DNS rebinding) is not stopped by this check alone; labs
that fetch from untrusted apps at scale should also run the fetcher behind an
egress proxy. The check still stops every plain link to an internal address.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from appwarden.errors import PolicyDocumentError

#: Redirects followed at most (each target is checked like the first URL).
MAX_REDIRECTS = 5
#: Largest body read (the document reader's own limit is the same order).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Seconds: connect and per-read timeout, and the deadline for the whole fetch.
DEFAULT_TIMEOUT = 10.0
DEFAULT_DEADLINE = 30.0
_USER_AGENT = "appwarden-policy-fetch/1 (privacy-policy compliance testing)"
_ACCEPT = "text/html,application/xhtml+xml,text/plain,application/pdf;q=0.9,*/*;q=0.5"


@dataclass(frozen=True)
class FetchedPolicy:
    """A policy document as the server sent it."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    media_type: str | None
    data: bytes

    @property
    def filename(self) -> str:
        """A name for the document reader and the report: the final URL (its path ending tells the format)."""
        return self.final_url


def _check_address(host: str, port: int, *, allow_private: bool) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise PolicyDocumentError(f"cannot resolve the policy host {host!r}", detail=str(exc)) from exc
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise PolicyDocumentError(
                f"the policy URL's host {host!r} resolves to a non-public address ({address}); not fetched",
                detail="allow private networks explicitly to fetch from an internal mirror",
            )


def _checked_url(url: str, *, allow_private: bool) -> httpx.URL:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise PolicyDocumentError(f"only http and https policy URLs are fetched, not {parts.scheme or 'no'} scheme")
    if not parts.hostname:
        raise PolicyDocumentError(f"the policy URL {url!r} has no host")
    try:
        parsed = httpx.URL(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except (httpx.InvalidURL, ValueError) as exc:
        raise PolicyDocumentError(f"the policy URL {url!r} is not valid", detail=str(exc)) from exc
    _check_address(parts.hostname, port, allow_private=allow_private)
    return parsed


def fetch_policy(
    url: str,
    *,
    allow_private: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    transport: httpx.BaseTransport | None = None,
) -> FetchedPolicy:
    """GET a policy page within the limits above; PolicyDocumentError for anything that is not a document."""
    started = time.monotonic()
    current = url
    with httpx.Client(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        headers={"User-Agent": _USER_AGENT, "Accept": _ACCEPT, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"},
        transport=transport,
        trust_env=False,
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            target = _checked_url(current, allow_private=allow_private)
            try:
                with client.stream("GET", target) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise PolicyDocumentError(f"{current} redirects without a Location")
                        current = urljoin(current, location)
                        continue
                    if response.status_code != 200:
                        raise PolicyDocumentError(
                            f"fetching the policy at {current} gave HTTP {response.status_code}",
                            detail=response.reason_phrase,
                        )
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise PolicyDocumentError(
                            f"the policy at {current} declares {declared} bytes, over the limit of {max_bytes}"
                        )
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise PolicyDocumentError(f"the policy at {current} is over the limit of {max_bytes} bytes")
                        if time.monotonic() - started > deadline:
                            raise PolicyDocumentError(f"fetching the policy at {current} took over {deadline:.0f} s")
                    return FetchedPolicy(
                        url=url,
                        final_url=current,
                        status=response.status_code,
                        media_type=response.headers.get("content-type"),
                        data=bytes(body),
                    )
            except httpx.HTTPError as exc:
                raise PolicyDocumentError(
                    f"fetching the policy at {current} failed: {type(exc).__name__}", detail=str(exc)
                ) from exc
    raise PolicyDocumentError(f"the policy URL {url} redirects more than {MAX_REDIRECTS} times")
