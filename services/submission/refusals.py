"""Typed refusals: every reason a submission is turned down, with its HTTP status."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class RefusalCode(StrEnum):
    """Stable error codes of the API and of rejection events."""

    INVALID_REQUEST = "invalid_request"
    INVALID_MODEL_ID = "invalid_model_id"
    UNKNOWN_TASK = "unknown_task"
    UNKNOWN_BENCHMARK = "unknown_benchmark"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    MODEL_NOT_FOUND = "model_not_found"
    REVISION_NOT_FOUND = "revision_not_found"
    GATED_MODEL = "gated_model"
    PRIVATE_MODEL = "private_model"
    DISABLED_MODEL = "disabled_model"
    DUPLICATE = "duplicate"
    NO_WEIGHTS = "no_weights"
    TOO_LARGE = "too_large"
    NOT_SENTENCE_TRANSFORMERS = "not_sentence_transformers"
    TRUST_REMOTE_CODE_REQUIRED = "trust_remote_code_required"
    LICENSE_MISSING = "license_missing"
    INVALID_STATE = "invalid_state"
    HUB_UNREACHABLE = "hub_unreachable"
    BUS_UNAVAILABLE = "bus_unavailable"
    STORE_UNAVAILABLE = "store_unavailable"
    SUBMISSION_NOT_FOUND = "submission_not_found"
    BODY_TOO_LARGE = "body_too_large"
    INVALID_TASK_DATA = "invalid_task_data"
    NAME_TAKEN = "name_taken"
    TASK_EXISTS = "task_exists"
    DUPLICATE_TASK = "duplicate_task"
    TASK_NOT_FOUND = "task_not_found"
    CONFIRMATION_REQUIRED = "confirmation_required"
    BENCHMARK_EXISTS = "benchmark_exists"
    BENCHMARK_NOT_FOUND = "benchmark_not_found"
    PRIVATE_TASK_IN_PUBLIC_BENCHMARK = "private_task_in_public_benchmark"
    DATASET_NOT_FOUND = "dataset_not_found"


HTTP_STATUS = {
    RefusalCode.INVALID_REQUEST: 422,
    RefusalCode.INVALID_MODEL_ID: 422,
    RefusalCode.UNKNOWN_TASK: 422,
    RefusalCode.UNKNOWN_BENCHMARK: 422,
    RefusalCode.UNAUTHORIZED: 401,
    RefusalCode.FORBIDDEN: 403,
    RefusalCode.RATE_LIMITED: 429,
    RefusalCode.MODEL_NOT_FOUND: 404,
    RefusalCode.REVISION_NOT_FOUND: 404,
    RefusalCode.GATED_MODEL: 403,
    RefusalCode.PRIVATE_MODEL: 403,
    RefusalCode.DISABLED_MODEL: 403,
    RefusalCode.DUPLICATE: 409,
    RefusalCode.NO_WEIGHTS: 422,
    RefusalCode.TOO_LARGE: 422,
    RefusalCode.NOT_SENTENCE_TRANSFORMERS: 422,
    RefusalCode.TRUST_REMOTE_CODE_REQUIRED: 422,
    RefusalCode.LICENSE_MISSING: 422,
    RefusalCode.INVALID_STATE: 409,
    RefusalCode.HUB_UNREACHABLE: 503,
    RefusalCode.BUS_UNAVAILABLE: 503,
    RefusalCode.STORE_UNAVAILABLE: 503,
    RefusalCode.SUBMISSION_NOT_FOUND: 404,
    RefusalCode.BODY_TOO_LARGE: 413,
    RefusalCode.INVALID_TASK_DATA: 422,
    RefusalCode.NAME_TAKEN: 422,
    RefusalCode.TASK_EXISTS: 409,
    RefusalCode.DUPLICATE_TASK: 409,
    RefusalCode.TASK_NOT_FOUND: 404,
    RefusalCode.CONFIRMATION_REQUIRED: 409,
    RefusalCode.BENCHMARK_EXISTS: 409,
    RefusalCode.BENCHMARK_NOT_FOUND: 404,
    RefusalCode.PRIVATE_TASK_IN_PUBLIC_BENCHMARK: 422,
    RefusalCode.DATASET_NOT_FOUND: 404,
}


class ErrorDetail(BaseModel):
    code: RefusalCode | str = Field(
        description="A refusal code; for task data refused by validation, the data check's own "
        "code (`missing_column`, `duplicate_id`, …: see `invalid_task_data`)."
    )
    message: str
    field: str | None = None
    submission_id: str | None = Field(
        default=None,
        description="For `duplicate`: the submission that already covers the request.",
    )
    file: str | None = Field(default=None, description="Task data: the file at fault.")
    line: int | None = Field(default=None, description="Task data: the line (1-based) at fault.")


OPTIONAL_DETAILS = ("submission_id", "file", "line")
"""Fields of an error that appear only where they are set."""


class ErrorBody(BaseModel):
    """The JSON body of every error response: `{"error": {"code", "message", "field"}}`, with
    `submission_id` (`duplicate`) or `file` and `line` (task data) where they apply."""

    error: ErrorDetail

    def payload(self) -> dict[str, Any]:
        """The JSON body; `submission_id`, `file` and `line` only where they are set."""
        body = self.model_dump(mode="json")
        for name in OPTIONAL_DETAILS:
            if body["error"][name] is None:
                del body["error"][name]
        return body


class Refusal(Exception):
    """A submission (or request) turned down for a typed reason."""

    def __init__(
        self,
        code: RefusalCode | str,
        message: str,
        field: str | None = None,
        *,
        submission_id: str | None = None,
        retry_after_s: int | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.detail = ErrorDetail(
            code=code,
            message=message,
            field=field,
            submission_id=submission_id,
            file=file,
            line=line,
        )
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        """`Retry-After` for a rate-limited request."""
        return {} if self.retry_after_s is None else {"Retry-After": str(self.retry_after_s)}

    @property
    def status_code(self) -> int:
        """The code's status; 422 for a task data check's own code."""
        code = self.detail.code
        return HTTP_STATUS[code] if isinstance(code, RefusalCode) else 422


MEANINGS: dict[RefusalCode, str] = {
    RefusalCode.INVALID_REQUEST: "The body or a parameter does not have the documented shape.",
    RefusalCode.INVALID_MODEL_ID: "`model` is not a Hub model id `org/name`.",
    RefusalCode.UNKNOWN_TASK: "A task name is neither in mteb's registry nor a custom task this "
    "key may see.",
    RefusalCode.UNKNOWN_BENCHMARK: "The benchmark name is neither in mteb's registry nor a custom "
    "benchmark this key may see.",
    RefusalCode.UNAUTHORIZED: "No API key, or an unknown or revoked one.",
    RefusalCode.FORBIDDEN: "The key may not do this (admin keys, or the submitting key, only).",
    RefusalCode.RATE_LIMITED: "The key used up its submissions for this UTC day.",
    RefusalCode.MODEL_NOT_FOUND: "The Hub has no such model, or none this token can see.",
    RefusalCode.REVISION_NOT_FOUND: "The model (or Hub dataset) has no such branch, tag or commit.",
    RefusalCode.GATED_MODEL: "The model is gated and the token given has no access.",
    RefusalCode.PRIVATE_MODEL: "The model is private and no usable `hf_token` came with it.",
    RefusalCode.DISABLED_MODEL: "The Hub disabled the model.",
    RefusalCode.DUPLICATE: "Every task is already queued, running or done for this commit.",
    RefusalCode.NO_WEIGHTS: "The model has no safetensors weights to count parameters from.",
    RefusalCode.TOO_LARGE: "The model has more parameters than this leaderboard takes.",
    RefusalCode.NOT_SENTENCE_TRANSFORMERS: "The model is not a sentence-transformers model.",
    RefusalCode.TRUST_REMOTE_CODE_REQUIRED: "The model needs its own code, which is not allowed.",
    RefusalCode.LICENSE_MISSING: "The model card declares no license.",
    RefusalCode.INVALID_STATE: "The submission's status does not allow this action.",
    RefusalCode.HUB_UNREACHABLE: "The Hugging Face Hub failed or could not be reached.",
    RefusalCode.BUS_UNAVAILABLE: "NATS is down: nothing stored (failing mid-way: marked failed).",
    RefusalCode.STORE_UNAVAILABLE: "MongoDB did not answer; nothing was stored or published.",
    RefusalCode.SUBMISSION_NOT_FOUND: "No submission has this id.",
    RefusalCode.BODY_TOO_LARGE: "The request body is larger than the API takes (256 KiB; task "
    "uploads: TASK_UPLOAD_MAX_BYTES).",
    RefusalCode.INVALID_TASK_DATA: "The task's data failed a check; the code names which "
    "(`missing_column`, `empty_split`, `duplicate_id`, …), with the file, line and field.",
    RefusalCode.NAME_TAKEN: "The name is a task or benchmark of mteb's registry.",
    RefusalCode.TASK_EXISTS: "Another key owns a custom task of this name.",
    RefusalCode.DUPLICATE_TASK: "The task already has this data (the same revision).",
    RefusalCode.TASK_NOT_FOUND: "No custom task of this name that this key may see.",
    RefusalCode.CONFIRMATION_REQUIRED: "Deleting needs `?confirm=<name>`; the message says how "
    "many results would go.",
    RefusalCode.BENCHMARK_EXISTS: "A custom benchmark of this name exists.",
    RefusalCode.BENCHMARK_NOT_FOUND: "No custom benchmark of this name that this key may see.",
    RefusalCode.PRIVATE_TASK_IN_PUBLIC_BENCHMARK: "A public benchmark may hold public tasks only.",
    RefusalCode.DATASET_NOT_FOUND: "The Hub has no public dataset of this id (gated and private "
    "ones are not read).",
}
"""One line per code: the OpenAPI examples' summaries."""


def error_responses(*codes: RefusalCode) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for `codes`, grouped by HTTP status, one example per code."""
    responses: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        status = HTTP_STATUS[code]
        entry = responses.setdefault(
            status,
            {
                "model": ErrorBody,
                "description": "",
                "content": {"application/json": {"examples": {}}},
            },
        )
        entry["description"] = ", ".join(filter(None, [entry["description"], f"`{code.value}`"]))
        body = ErrorBody(error=ErrorDetail(code=code, message=MEANINGS[code]))
        examples = entry["content"]["application/json"]["examples"]
        examples[code.value] = {"summary": MEANINGS[code], "value": body.payload()}
        if code == RefusalCode.RATE_LIMITED:
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds until the next UTC day, when the key may submit again.",
                    "schema": {"type": "integer"},
                }
            }
    return responses
