"""One error format for every failure: ``{"error": {"code", "message", "detail"}}``.

Domain errors keep their stable ``code``; validation errors, unknown routes and
unexpected exceptions are mapped into the same shape, and no traceback ever
reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from appwarden.errors import AppwardenError, ConfigurationError, UnreadableInputError

log = logging.getLogger("appwarden.api")

STATUS_BY_CODE: dict[str, int] = {
    "not_found": 404,
    "invalid_transition": 409,
    "conflict": 409,
    "already_exists": 409,
    "idempotency_mismatch": 409,
    "invalid_input": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "role_not_allowed": 403,
    "payload_too_large": 413,
    "audit_chain_broken": 500,
}


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": detail}}


def error_response(status: int, code: str, message: str, detail: Any = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        status_code=status, content=jsonable_encoder(error_body(code, message, detail)), headers=headers
    )


def status_for(exc: AppwardenError) -> int:
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    if isinstance(exc, UnreadableInputError):
        return 400
    if isinstance(exc, ConfigurationError):
        return 500
    return 400


def install(app: FastAPI) -> None:
    @app.exception_handler(AppwardenError)
    async def _domain(_request: Request, exc: AppwardenError) -> JSONResponse:
        return error_response(status_for(exc), exc.code, exc.message, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        return error_response(422, "validation_error", "the request is not valid", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, AppwardenError):
            # FastAPI wraps errors raised while reading the body (e.g. the size limit) in a 400.
            cause = exc.__cause__
            return error_response(status_for(cause), cause.code, cause.message, cause.detail)
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, f"http_{exc.status_code}"
        )
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        return error_response(409, "conflict", "the change conflicts with existing records", str(exc.orig)[:300])

    @app.exception_handler(OverflowError)
    async def _overflow(_request: Request, exc: OverflowError) -> JSONResponse:
        return error_response(422, "validation_error", "a number in the request is out of range", str(exc)[:200])

    @app.exception_handler(DataError)
    async def _data(_request: Request, exc: DataError) -> JSONResponse:
        return error_response(422, "validation_error", "a value in the request is out of range", str(exc.orig)[:200])

    @app.exception_handler(StatementError)
    async def _statement(_request: Request, exc: StatementError) -> JSONResponse:
        if isinstance(exc.orig, OverflowError):
            return error_response(422, "validation_error", "a number in the request is out of range", str(exc.orig))
        log.exception("database statement error")
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")

    @app.exception_handler(OperationalError)
    async def _operational(_request: Request, exc: OperationalError) -> JSONResponse:
        if any(word in str(exc).lower() for word in ("locked", "deadlock")):
            return error_response(409, "conflict", "the record is being changed by someone else; retry")
        log.exception("database error")
        return error_response(503, "database_unavailable", "the database did not answer; retry later")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
