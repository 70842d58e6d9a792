"""A result replaced by one of other content under the same id stays in `result_history`."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.documents import ResultDoc, result_id
from shared.store import Store


def result(score: float, digest: str, dataset_revision: str) -> ResultDoc:
    return ResultDoc(
        _id=result_id("org/m", "r1", "BIOSSES", "2.26.24"),
        model="org/m",
        revision="r1",
        task="BIOSSES",
        main_score=score,
        evaluated_at=datetime(2026, 1, 1, tzinfo=UTC),
        mteb_version="2.26.24",
        dataset_revision=dataset_revision,
        digest=digest,
    )


async def test_a_replaced_result_is_kept_in_history(store: Store) -> None:
    await store.upsert_result(result(0.5, "one", "old-data"))
    again = await store.upsert_result(result(0.5, "one", "old-data"))  # same content: no history
    assert await store.result_history.count_documents({}) == 0

    await store.upsert_result(result(0.7, "two", "new-data"))

    current = await store.results.find_one({})
    assert current is not None
    assert (current["main_score"], current["dataset_revision"]) == (0.7, "new-data")
    kept = [doc async for doc in store.result_history.find({})]
    assert [(doc["_id"], doc["main_score"], doc["dataset_revision"]) for doc in kept] == [
        (f"{result_id('org/m', 'r1', 'BIOSSES', '2.26.24')}|{again}", 0.5, "old-data")
    ]
