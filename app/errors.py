"""Domain errors and the one handler that renders them as {"error": {"code", "message"}}.

AyudaError
 ├── BadRequest (400)           invalid input the schema can't express
 ├── Unauthorized (401)         no valid identity (sign in, or the proxy/bearer credentials are wrong)
 ├── InvalidInput (422)         the same error the request schemas give (e.g. a blank message)
 ├── NotFound (404)             unknown conversation, message, ticket
 ├── Forbidden (403)            the user may not see or do this
 ├── Conflict (409)             e.g. an invalid ticket transition, an Idempotency-Key reused
 ├── TooLarge (413)             request body over AYUDA_MAX_BODY_BYTES
 ├── TooManyRequests (429)      a rate limit (with Retry-After)
 ├── NotReady (503)             index or database not ready
 └── Overloaded (503)           too many chat turns waiting (with Retry-After)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


class AyudaError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after  # seconds; sent as the Retry-After header
        if code:
            self.code = code


class BadRequest(AyudaError):
    status, code = 400, "bad_request"


class Unauthorized(AyudaError):
    status, code = 401, "unauthorized"


class InvalidInput(AyudaError):
    status, code = 422, "invalid_input"


class NotFound(AyudaError):
    status, code = 404, "not_found"


class Forbidden(AyudaError):
    status, code = 403, "forbidden"


class Conflict(AyudaError):
    status, code = 409, "conflict"


class TooLarge(AyudaError):
    status, code = 413, "too_large"


class TooManyRequests(AyudaError):
    status, code = 429, "rate_limited"


class NotReady(AyudaError):
    status, code = 503, "not_ready"


class Overloaded(AyudaError):
    status, code = 503, "overloaded"


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in [(400, "Bad request"), (401, "Not signed in"), (404, "Not found"), (409, "Conflict"),
                         (413, "Request body too large"), (422, "Invalid input"),
                         (429, "Too many requests (see Retry-After)"), (503, "Not ready or overloaded (see Retry-After)")]
}


def _body(code: str, message: str, status: int, retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(max(1, retry_after))} if retry_after is not None else None
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def error_response(exc: AyudaError) -> JSONResponse:
    return _body(exc.code, exc.message, exc.status, exc.retry_after)


def _describe(errors: list[dict[str, Any]]) -> tuple[int, str, str]:
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return 400, "invalid_json", "The request body is not valid JSON."
    parts = []
    for err in errors[:3]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
        msg = err.get("msg", "is invalid")
        ctx = err.get("ctx") or {}
        if err.get("type") == "string_too_long":
            msg = f"is too long ({ctx.get('max_length')} characters at most)"
        elif err.get("type") == "string_too_short":
            msg = "must not be empty"
        elif err.get("type") == "missing":
            msg = "is required"
        parts.append(f"{where or 'body'}: {msg}")
    return 422, "invalid_input", "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AyudaError)
    async def _domain(_: Request, exc: AyudaError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message = _describe(list(exc.errors()))
        return _body(code, message, status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _body(code, str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        import logging

        logging.getLogger("app").exception("unhandled error")
        return _body("internal_error", "Something went wrong on our side; the error was logged.", 500)
