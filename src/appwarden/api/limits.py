"""ASGI middleware refusing oversized request bodies before they are read into memory.

Multipart uploads may be as large as ``max_upload_bytes`` (plus room for the form
fields); every other body is limited to ``max_json_bytes``. Both the announced
Content-Length and the bytes actually received are checked, so a chunked body
cannot slip past.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appwarden.governance.errors import PayloadTooLarge

_FORM_SLACK = 1024 * 1024


class _TooLarge(PayloadTooLarge):
    """Raised inside the app's receive: the API's error handler turns it into a 413 response."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_upload_bytes: int, max_json_bytes: int) -> None:
        self.app = app
        self.max_upload = max_upload_bytes + _FORM_SLACK
        self.max_json = max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        limit = self.max_upload if headers.get("content-type", "").startswith("multipart/") else self.max_json
        declared = headers.get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await _refuse(send, 400, "invalid_input", "Content-Length is not a number")
                return
            if too_big:
                await _refuse(send, 413, "payload_too_large", f"the request body exceeds the limit of {limit} bytes")
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(f"the request body exceeds the limit of {limit} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, 413, "payload_too_large", f"the request body exceeds the limit of {limit} bytes")


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body: dict[str, Any] = {"error": {"code": code, "message": message, "detail": None}}
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
