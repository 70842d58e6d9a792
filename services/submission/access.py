"""Who calls, and what they may see: custom tasks, benchmarks and submissions by visibility."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from services.submission.auth import authenticate
from services.submission.intake import Intake
from services.submission.refusals import Refusal, RefusalCode
from shared.custom_tasks import catalogue
from shared.documents import ApiKeyDoc, CustomBenchmarkDoc, CustomTaskDoc, SubmissionDoc
from shared.events import Visibility
from shared.settings import Settings


@dataclass(frozen=True)
class Viewer:
    """The caller of a read: a key's name and whether it is an admin key; anonymous: None."""

    name: str | None = None
    admin: bool = False

    @classmethod
    def of(cls, key: ApiKeyDoc | None) -> Viewer:
        return cls() if key is None else cls(key.name, key.admin)

    def sees(self, entry: CustomTaskDoc | CustomBenchmarkDoc) -> bool:
        return self.admin or entry.visibility is Visibility.PUBLIC or entry.owner == self.name

    def sees_submission(self, submission: SubmissionDoc) -> bool:
        return (
            self.admin
            or submission.visibility is Visibility.PUBLIC
            or (self.name is not None and submission.submitted_by == self.name)
        )

    def may_change(self, entry: CustomTaskDoc | CustomBenchmarkDoc) -> bool:
        return self.admin or entry.owner == self.name


def intake_of(request: Request) -> Intake:
    return request.app.state.intake  # type: ignore[no-any-return]


def settings_of(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def viewer(request: Request) -> Viewer:
    """The caller of a read: anonymous without an `Authorization` header; a header with an
    unknown or revoked key is refused (`unauthorized`), never read as anonymous."""
    header = request.headers.get("authorization")
    if header is None:
        return Viewer()
    return Viewer.of(await authenticate(intake_of(request).store, header))


async def key_of(request: Request) -> ApiKeyDoc:
    """The caller's key, required."""
    return await authenticate(intake_of(request).store, request.headers.get("authorization"))


async def current_catalogue(intake: Intake) -> catalogue.Catalogue:
    """The custom tasks and benchmarks as stored now (installed for the registry lookups)."""
    return await catalogue.refresh(intake.store)


def task_not_found(name: str) -> Refusal:
    return Refusal(RefusalCode.TASK_NOT_FOUND, f"no custom task named {name!r}", "name")


def benchmark_not_found(name: str) -> Refusal:
    return Refusal(RefusalCode.BENCHMARK_NOT_FOUND, f"no custom benchmark named {name!r}", "name")


async def visible_task(intake: Intake, name: str, who: Viewer) -> CustomTaskDoc:
    """The custom task `name` if `who` may see it; `task_not_found` alike for a missing task and
    another key's private one (whether it exists is not told)."""
    found = await intake.store.get_custom_task(name)
    if found is None or not who.sees(found):
        raise task_not_found(name)
    return found


async def visible_benchmark(intake: Intake, name: str, who: Viewer) -> CustomBenchmarkDoc:
    found = await intake.store.get_custom_benchmark(name)
    if found is None or not who.sees(found):
        raise benchmark_not_found(name)
    return found


def require_change(entry: CustomTaskDoc | CustomBenchmarkDoc, who: Viewer) -> None:
    if not who.may_change(entry):
        raise Refusal(RefusalCode.FORBIDDEN, "only its owner or an admin key may do this")
