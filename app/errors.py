"""Domain errors and the one handler that renders them as {"error": {"code", "message"}}.

AyudaError
 ├── BadRequest (400)           invalid input the schema can't express
 ├── Unauthorized (401)         no valid identity (sign in, or the proxy/bearer credentials are wrong)
 ├── NotFound (404)             unknown conversation, message, ticket
 ├── Forbidden (403)            the user may not see or do this
 ├── Conflict (409)             e.g. an invalid ticket transition
 └── NotReady (503)             index or database not ready
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

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class BadRequest(AyudaError):
    status, code = 400, "bad_request"


class Unauthorized(AyudaError):
    status, code = 401, "unauthorized"


class NotFound(AyudaError):
    status, code = 404, "not_found"


class Forbidden(AyudaError):
    status, code = 403, "forbidden"


class Conflict(AyudaError):
    status, code = 409, "conflict"


class NotReady(AyudaError):
    status, code = 503, "not_ready"


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in [(400, "Bad request"), (401, "Not signed in"), (404, "Not found"), (422, "Invalid input"), (503, "Not ready")]
}


def _body(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


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
        return _body(exc.code, exc.message, exc.status)

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
