"""Typed refusals: every reason a submission is turned down, with its HTTP status."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class RefusalCode(StrEnum):
    """Stable error codes of the API and of rejection events."""

    INVALID_REQUEST = "invalid_request"
    INVALID_MODEL_ID = "invalid_model_id"
    UNKNOWN_TASK = "unknown_task"
    UNKNOWN_BENCHMARK = "unknown_benchmark"
    MODEL_NOT_FOUND = "model_not_found"
    REVISION_NOT_FOUND = "revision_not_found"
    GATED_MODEL = "gated_model"
    HUB_UNREACHABLE = "hub_unreachable"
    BUS_UNAVAILABLE = "bus_unavailable"
    STORE_UNAVAILABLE = "store_unavailable"
    SUBMISSION_NOT_FOUND = "submission_not_found"


HTTP_STATUS = {
    RefusalCode.INVALID_REQUEST: 422,
    RefusalCode.INVALID_MODEL_ID: 422,
    RefusalCode.UNKNOWN_TASK: 422,
    RefusalCode.UNKNOWN_BENCHMARK: 422,
    RefusalCode.MODEL_NOT_FOUND: 404,
    RefusalCode.REVISION_NOT_FOUND: 404,
    RefusalCode.GATED_MODEL: 403,
    RefusalCode.HUB_UNREACHABLE: 503,
    RefusalCode.BUS_UNAVAILABLE: 503,
    RefusalCode.STORE_UNAVAILABLE: 503,
    RefusalCode.SUBMISSION_NOT_FOUND: 404,
}


class ErrorDetail(BaseModel):
    code: RefusalCode
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """The JSON body of every error response: `{"error": {"code", "message", "field"}}`."""

    error: ErrorDetail


class Refusal(Exception):
    """A submission (or request) turned down for a typed reason."""

    def __init__(self, code: RefusalCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.detail = ErrorDetail(code=code, message=message, field=field)

    @property
    def status_code(self) -> int:
        return HTTP_STATUS[self.detail.code]
