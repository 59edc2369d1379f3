"""Cal.com's error envelope: exception class names as codes, NestJS-style details."""

from __future__ import annotations

from typing import Any

REASON_PHRASES: dict[int, tuple[str, str]] = {
    400: ("BadRequestException", "Bad Request"),
    401: ("UnauthorizedException", "Unauthorized"),
    403: ("ForbiddenException", "Forbidden"),
    404: ("NotFoundException", "Not Found"),
    408: ("RequestTimeoutException", "Request Timeout"),
    409: ("ConflictException", "Conflict"),
    413: ("PayloadTooLargeException", "Payload Too Large"),
    422: ("UnprocessableEntityException", "Unprocessable Entity"),
    429: ("ThrottlerException", "Too Many Requests"),
    500: ("InternalServerErrorException", "Internal Server Error"),
    502: ("BadGatewayException", "Bad Gateway"),
    503: ("ServiceUnavailableException", "Service Unavailable"),
    504: ("GatewayTimeoutException", "Gateway Timeout"),
}


def exception_name(status: int) -> str:
    return REASON_PHRASES.get(status, ("HttpException", "Error"))[0]


class ApiError(Exception):
    """An error answered with Cal.com's envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or exception_name(status)
        if details is None:
            phrase = REASON_PHRASES.get(status, ("", "Error"))[1]
            details = {"message": message, "error": phrase, "statusCode": status}
        self.details = details
        self.headers = headers or {}
        self.bare = False


def handler_error(status: int, message: str) -> ApiError:
    """An error of Cal.com's shared booking handlers (their HttpError), which reaches the
    client without the envelope: ``{"statusCode", "message"}`` (upstream's bookings e2e
    reads ``response.body.message``; the fields besides ``message`` are inferred)."""
    error = ApiError(status, message)
    error.bare = True
    return error


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def error_body(error: ApiError, path: str, timestamp: str) -> dict[str, Any]:
    if error.bare:
        return {"statusCode": error.status, "message": error.message}
    return {
        "status": "error",
        "timestamp": timestamp,
        "path": path,
        "error": {"code": error.code, "message": error.message, "details": error.details},
    }
