"""Event models: validation, subjects and JSON round trips."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.events import (
    Job,
    Priority,
    ResultEvent,
    Subjects,
    SubmissionCancelled,
    SubmissionRequest,
    is_valid_model_id,
    is_valid_revision,
    subject_token,
)
from tests.support.helpers import make_envelope


@pytest.mark.parametrize(
    "model",
    ["sentence-transformers/all-MiniLM-L6-v2", "BAAI/bge-m3", "intfloat/e5-base-v2", "a/b"],
)
def test_valid_model_ids(model: str) -> None:
    assert is_valid_model_id(model)


@pytest.mark.parametrize(
    "model",
    [
        "",
        "noslash",
        "a/b/c",
        "/name",
        "org/",
        "org/na me",
        "org--x/name",
        "org/na..me",
        "org/name.",
    ],
)
def test_invalid_model_ids(model: str) -> None:
    assert not is_valid_model_id(model)


def test_request_needs_tasks_or_benchmark_but_not_both() -> None:
    with pytest.raises(ValidationError):
        SubmissionRequest(model="a/b")
    with pytest.raises(ValidationError):
        SubmissionRequest(model="a/b", tasks=[])
    with pytest.raises(ValidationError):
        SubmissionRequest(model="a/b", tasks=["BIOSSES"], benchmark="MTEB(eng, v2)")
    assert SubmissionRequest(model="a/b", benchmark="MTEB(eng, v2)").benchmark == "MTEB(eng, v2)"


def test_subject_tokens_are_single_tokens() -> None:
    assert subject_token("STSBenchmark.v2") == "STSBenchmark_v2"
    assert subject_token("task:MTEB(eng, v2)") == "task_MTEB_eng__v2_"
    assert subject_token("a>b*c") == "a_b_c"


def test_subjects() -> None:
    assert Subjects.job(Priority.HIGH, "s1", "STS22.v2") == "lb.jobs.high.s1.STS22_v2"
    assert Subjects.result("s1", "BIOSSES") == "lb.results.s1.BIOSSES"
    assert Subjects.status("s1") == "lb.status.s1"
    assert Subjects.accepted("s1") == "lb.submissions.s1.accepted"
    assert Subjects.leaderboard_updated("task:BIOSSES") == "lb.leaderboard.task_BIOSSES.updated"
    assert Subjects.dead_letter("LB_JOBS") == "lb.dlq.LB_JOBS"


def test_private_subjects_are_the_public_ones_under_lb_private() -> None:
    assert Subjects.result("s1", "my-task", private=True) == "lb.private.results.s1.my-task"
    assert Subjects.status("s1", private=True) == "lb.private.status.s1"
    assert Subjects.accepted("s1", private=True) == "lb.private.submissions.s1.accepted"
    assert Subjects.cancelled("s1", private=True) == "lb.private.submissions.s1.cancelled"
    assert Subjects.submission_status("s1", True) == "lb.private.submissions.s1.status"
    assert Subjects.leaderboard_updated("task:t", True) == "lb.private.leaderboard.task_t.updated"
    assert Subjects.task_event("t", "created", private=True) == "lb.private.tasks.t.created"
    assert Subjects.task_event("t", "published", private=False) == "lb.tasks.t.published"


def test_unknown_schema_version_and_fields_are_rejected() -> None:
    job = {"submission_id": "s", "model": "a/b", "revision": "r", "task": "BIOSSES"}
    assert Job.model_validate(job).schema_version == 1
    with pytest.raises(ValidationError):
        Job.model_validate(job | {"schema_version": 2})
    with pytest.raises(ValidationError):
        Job.model_validate(job | {"surprise": True})


def test_result_event_round_trips_through_json() -> None:
    envelope = make_envelope(model="a/b", revision="r", dataset_revision="d")
    event = ResultEvent(
        submission_id="s",
        model="a/b",
        revision="r",
        task="BIOSSES",
        main_score=0.8164041444909368,
        task_result={"scores": {"test": [{"main_score": 0.8164041444909368}]}},
        envelope=envelope,
    )
    again = ResultEvent.model_validate_json(event.model_dump_json())
    assert again == event
    assert again.evaluated_at.tzinfo is not None


@pytest.mark.parametrize(
    "model",
    ["org/name\n", "org/name\nx", "../../../x", "org/..", "org/name/extra", "o/" + "n" * 97],
)
def test_a_model_id_is_matched_whole(model: str) -> None:
    assert not is_valid_model_id(model)


@pytest.mark.parametrize(
    ("revision", "valid"),
    [
        ("main", True),
        ("0123456789abcdef0123456789abcdef01234567", True),
        ("refs/pr/1", True),
        ("v1.0", True),
        ("../../../../../tmp/x", False),
        ("main\n", False),
        ("a/../b", False),
        ("/abs", False),
        ("x.lock", False),
        ("a" * 256, False),
    ],
)
def test_revisions_are_git_refs_or_shas(revision: str, valid: bool) -> None:
    assert is_valid_revision(revision) is valid


@pytest.mark.parametrize("submission_id", ["*", ">", "a.b", "a b", "", "x" * 65, "a\n"])
def test_a_submission_id_is_never_a_wildcard_on_a_subject(submission_id: str) -> None:
    with pytest.raises(ValueError):
        Subjects.status(submission_id)
    with pytest.raises(ValidationError):
        SubmissionCancelled(submission_id=submission_id)
