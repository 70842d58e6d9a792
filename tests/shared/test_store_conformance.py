"""Conformance of the MongoDB subset DESIGN §6 allows, against whatever `mongodb_url` is.

Every assertion states real MongoDB semantics, so the module passes unchanged on a real mongod
(`MONGODB_URL=mongodb://... pytest tests/shared/test_store_conformance.py`) and fails wherever the
embedded server `nx-27017` departs from them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError
from pymongo.operations import DeleteOne, InsertOne, ReplaceOne, UpdateOne

Coll = AsyncCollection[dict[str, Any]]


def nx_bug(why: str) -> pytest.MarkDecorator:
    """A known departure of the embedded server from MongoDB; the store layer avoids it.

    Strict: on the embedded server the test must fail (so a fixed nx-27017 shows up), and on
    any other server (`MONGODB_URL`) it must pass.
    """
    return pytest.mark.xfail(
        not os.environ.get("MONGODB_URL"), reason=f"nx-27017: {why}", strict=True
    )


@pytest.fixture
async def coll(mongodb_url: str) -> AsyncIterator[Coll]:
    """A collection in a fresh database of its own, dropped afterwards."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    db = client[f"conf_{uuid.uuid4().hex[:12]}"]
    yield db["things"]
    await client.drop_database(db.name)
    await client.close()


async def ids(coll: Coll, query: dict[str, Any]) -> list[str]:
    """The `_id`s matching `query`, sorted."""
    return sorted([doc["_id"] async for doc in coll.find(query, {"_id": 1})])


async def seed(coll: Coll) -> None:
    await coll.insert_many(
        [
            {"_id": "a", "n": 1, "name": "alpha", "env": {"task": "BIOSSES", "score": 0.5}},
            {"_id": "b", "n": 2, "name": "beta", "env": {"task": "SciFact", "score": 0.7}},
            {"_id": "c", "n": 3, "name": "gamma", "env": {"task": "BIOSSES", "score": 0.9}},
            {"_id": "d", "n": 4, "name": "Alphabet", "env": {"task": "STS12"}},
        ]
    )


# string _ids, inserts


async def test_string_id_round_trips(coll: Coll) -> None:
    key = "sentence-transformers/all-MiniLM-L6-v2@abc123|BIOSSES|2.26"
    inserted = await coll.insert_one({"_id": key, "x": 1})
    assert inserted.inserted_id == key
    found = await coll.find_one({"_id": key})
    assert found == {"_id": key, "x": 1}
    assert isinstance(found["_id"], str)


async def test_insert_many_stores_every_document(coll: Coll) -> None:
    inserted = await coll.insert_many([{"_id": f"k{i}", "i": i} for i in range(5)])
    assert inserted.inserted_ids == [f"k{i}" for i in range(5)]
    assert await coll.count_documents({}) == 5
    assert (await coll.find_one({"_id": "k3"})) == {"_id": "k3", "i": 3}


async def test_insert_one_duplicate_id_raises(coll: Coll) -> None:
    await coll.insert_one({"_id": "dup", "v": 1})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": "dup", "v": 2})
    assert (await coll.find_one({"_id": "dup"})) == {"_id": "dup", "v": 1}


async def test_insert_many_duplicate_id_raises_and_stops(coll: Coll) -> None:
    # insert_many reports through BulkWriteError (code 11000 = duplicate key); ordered inserts
    # keep what came before the duplicate and skip what follows it.
    await coll.insert_one({"_id": "b", "v": 0})
    with pytest.raises(BulkWriteError) as raised:
        await coll.insert_many([{"_id": "a"}, {"_id": "b", "v": 1}, {"_id": "c"}])
    assert [error["code"] for error in raised.value.details["writeErrors"]] == [11000]
    assert await ids(coll, {}) == ["a", "b"]
    assert (await coll.find_one({"_id": "b"})) == {"_id": "b", "v": 0}


# update_one / replace_one


async def test_upsert_set_and_set_on_insert(coll: Coll) -> None:
    first = await coll.update_one(
        {"_id": "m"},
        {"$set": {"name": "one"}, "$setOnInsert": {"created": "first"}},
        upsert=True,
    )
    assert first.upserted_id == "m"
    assert (await coll.find_one({"_id": "m"})) == {"_id": "m", "name": "one", "created": "first"}

    second = await coll.update_one(
        {"_id": "m"},
        {"$set": {"name": "two"}, "$setOnInsert": {"created": "second"}},
        upsert=True,
    )
    assert second.upserted_id is None
    assert second.matched_count == 1
    assert (await coll.find_one({"_id": "m"})) == {"_id": "m", "name": "two", "created": "first"}


async def test_upsert_copies_equality_fields_of_the_filter(coll: Coll) -> None:
    await coll.update_one({"_id": "m", "kind": "task"}, {"$set": {"v": 1}}, upsert=True)
    assert (await coll.find_one({"_id": "m"})) == {"_id": "m", "kind": "task", "v": 1}


async def test_set_dotted_path_creates_and_updates_nested_field(coll: Coll) -> None:
    await coll.insert_one({"_id": "m", "meta": {"a": 1}})
    await coll.update_one({"_id": "m"}, {"$set": {"meta.b": 2, "other.c": 3}})
    assert (await coll.find_one({"_id": "m"})) == {
        "_id": "m",
        "meta": {"a": 1, "b": 2},
        "other": {"c": 3},
    }


async def test_update_without_upsert_on_missing_document_does_nothing(coll: Coll) -> None:
    result = await coll.update_one({"_id": "nope"}, {"$set": {"v": 1}})
    assert (result.matched_count, result.modified_count, result.upserted_id) == (0, 0, None)
    assert await coll.count_documents({}) == 0


async def test_update_counts_matched_and_modified(coll: Coll) -> None:
    await coll.insert_one({"_id": "m", "v": 1})
    changed = await coll.update_one({"_id": "m"}, {"$set": {"v": 2}})
    assert (changed.matched_count, changed.modified_count) == (1, 1)
    same = await coll.update_one({"_id": "m"}, {"$set": {"v": 2}})
    assert (same.matched_count, same.modified_count) == (1, 0)


async def test_inc_upserts_then_increments(coll: Coll) -> None:
    await coll.update_one({"_id": "c"}, {"$inc": {"count": 1}}, upsert=True)
    assert (await coll.find_one({"_id": "c"})) == {"_id": "c", "count": 1}
    await coll.update_one({"_id": "c"}, {"$inc": {"count": 5}}, upsert=True)
    await coll.update_one({"_id": "c"}, {"$inc": {"count": -2, "other": 3}})
    assert (await coll.find_one({"_id": "c"})) == {"_id": "c", "count": 4, "other": 3}


async def test_inc_keeps_float_and_int_types(coll: Coll) -> None:
    await coll.insert_one({"_id": "c", "i": 1, "f": 0.5})
    await coll.update_one({"_id": "c"}, {"$inc": {"i": 2, "f": 0.25}})
    found = await coll.find_one({"_id": "c"})
    assert found is not None
    assert found["i"] == 3 and type(found["i"]) is int
    assert found["f"] == 0.75 and type(found["f"]) is float


async def test_concurrent_incs_are_not_lost(coll: Coll) -> None:
    await coll.insert_one({"_id": "c", "count": 0})
    await asyncio.gather(
        *(coll.update_one({"_id": "c"}, {"$inc": {"count": 1}}) for _ in range(20))
    )
    assert (await coll.find_one({"_id": "c"})) == {"_id": "c", "count": 20}


async def test_push_appends_scalars_and_creates_the_list(coll: Coll) -> None:
    await coll.insert_one({"_id": "p", "n": [1]})
    for value in ["a", "a", "b"]:
        await coll.update_one({"_id": "p"}, {"$push": {"log": value}})
    await coll.update_one({"_id": "p"}, {"$push": {"n": 2}})
    assert (await coll.find_one({"_id": "p"})) == {"_id": "p", "n": [1, 2], "log": ["a", "a", "b"]}


@nx_bug("$push of a subdocument stores its JSON text")
async def test_push_appends_documents(coll: Coll) -> None:
    await coll.insert_one({"_id": "p"})
    for status in ["queued", "queued", "running"]:
        await coll.update_one({"_id": "p"}, {"$push": {"history": {"status": status}}})
    assert (await coll.find_one({"_id": "p"})) == {
        "_id": "p",
        "history": [{"status": "queued"}, {"status": "queued"}, {"status": "running"}],
    }


@nx_bug("$push turns subdocuments already in the list into JSON text")
async def test_push_leaves_documents_already_in_the_list_alone(coll: Coll) -> None:
    await coll.insert_one({"_id": "p", "history": [{"status": "queued"}]})
    await coll.update_one({"_id": "p"}, {"$push": {"history": "marker"}})
    assert (await coll.find_one({"_id": "p"})) == {
        "_id": "p",
        "history": [{"status": "queued"}, "marker"],
    }


@nx_bug("$push of a datetime stores a string")
async def test_push_keeps_datetime_type(coll: Coll) -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    await coll.insert_one({"_id": "p", "times": []})
    await coll.update_one({"_id": "p"}, {"$push": {"times": moment}})
    assert (await coll.find_one({"_id": "p"})) == {"_id": "p", "times": [moment]}


async def test_push_in_upsert_creates_document(coll: Coll) -> None:
    await coll.update_one({"_id": "p"}, {"$push": {"tags": "x"}}, upsert=True)
    assert (await coll.find_one({"_id": "p"})) == {"_id": "p", "tags": ["x"]}


async def test_add_to_set_skips_duplicates(coll: Coll) -> None:
    await coll.insert_one({"_id": "s", "revisions": ["r1"]})
    await coll.update_one({"_id": "s"}, {"$addToSet": {"revisions": "r2"}})
    unchanged = await coll.update_one({"_id": "s"}, {"$addToSet": {"revisions": "r1"}})
    assert unchanged.modified_count == 0
    assert (await coll.find_one({"_id": "s"})) == {"_id": "s", "revisions": ["r1", "r2"]}


@nx_bug("$addToSet on a missing field of an existing document does nothing")
async def test_add_to_set_creates_missing_field(coll: Coll) -> None:
    await coll.insert_one({"_id": "s"})
    await coll.update_one({"_id": "s"}, {"$addToSet": {"revisions": "r1"}})
    assert (await coll.find_one({"_id": "s"})) == {"_id": "s", "revisions": ["r1"]}


async def test_add_to_set_compares_documents_whole(coll: Coll) -> None:
    await coll.insert_one({"_id": "s", "seen": [{"task": "A", "n": 1}]})
    await coll.update_one({"_id": "s"}, {"$addToSet": {"seen": {"task": "A", "n": 1}}})
    await coll.update_one({"_id": "s"}, {"$addToSet": {"seen": {"task": "A", "n": 2}}})
    assert (await coll.find_one({"_id": "s"})) == {
        "_id": "s",
        "seen": [{"task": "A", "n": 1}, {"task": "A", "n": 2}],
    }


async def test_add_to_set_in_upsert_with_set_on_insert(coll: Coll) -> None:
    for revision in ["r1", "r2", "r1"]:
        await coll.update_one(
            {"_id": "model"},
            {"$addToSet": {"revisions": revision}, "$setOnInsert": {"first": revision}},
            upsert=True,
        )
    assert (await coll.find_one({"_id": "model"})) == {
        "_id": "model",
        "revisions": ["r1", "r2"],
        "first": "r1",
    }


async def test_replace_one_upsert_inserts_then_replaces_whole(coll: Coll) -> None:
    first = await coll.replace_one({"_id": "r"}, {"_id": "r", "a": 1, "b": 2}, upsert=True)
    assert first.upserted_id == "r"
    second = await coll.replace_one({"_id": "r"}, {"_id": "r", "a": 3}, upsert=True)
    assert (second.matched_count, second.upserted_id) == (1, None)
    assert (await coll.find_one({"_id": "r"})) == {"_id": "r", "a": 3}
    assert await coll.count_documents({}) == 1


async def test_replace_one_without_id_in_replacement_keeps_id(coll: Coll) -> None:
    await coll.insert_one({"_id": "r", "a": 1})
    await coll.replace_one({"_id": "r"}, {"b": 2})
    assert (await coll.find_one({"_id": "r"})) == {"_id": "r", "b": 2}


async def test_replace_one_without_upsert_on_missing_does_nothing(coll: Coll) -> None:
    result = await coll.replace_one({"_id": "r"}, {"_id": "r", "a": 1})
    assert (result.matched_count, result.upserted_id) == (0, None)
    assert await coll.count_documents({}) == 0


# find


async def test_find_equality_top_level_and_dotted(coll: Coll) -> None:
    await seed(coll)
    assert await ids(coll, {"name": "beta"}) == ["b"]
    assert await ids(coll, {"env.task": "BIOSSES"}) == ["a", "c"]
    assert await ids(coll, {"env.task": "BIOSSES", "n": 3}) == ["c"]
    assert await ids(coll, {"name": "nobody"}) == []


async def test_find_equality_on_array_matches_an_element(coll: Coll) -> None:
    await coll.insert_many(
        [{"_id": "x", "tags": ["a", "b"]}, {"_id": "y", "tags": ["c"]}, {"_id": "z", "tags": []}]
    )
    assert await ids(coll, {"tags": "b"}) == ["x"]
    assert await ids(coll, {"tags": {"$in": ["b", "c"]}}) == ["x", "y"]


@nx_bug("equality with a whole array raises a binding error")
async def test_find_equality_with_a_whole_array(coll: Coll) -> None:
    await coll.insert_many([{"_id": "x", "tags": ["a", "b"]}, {"_id": "y", "tags": ["b", "a"]}])
    assert await ids(coll, {"tags": ["a", "b"]}) == ["x"]


async def test_find_equality_on_null_matches_missing(coll: Coll) -> None:
    await coll.insert_many([{"_id": "x", "r": None}, {"_id": "y"}, {"_id": "z", "r": "why"}])
    assert await ids(coll, {"r": None}) == ["x", "y"]


async def test_find_in(coll: Coll) -> None:
    await seed(coll)
    assert await ids(coll, {"name": {"$in": ["alpha", "gamma", "zeta"]}}) == ["a", "c"]
    assert await ids(coll, {"env.task": {"$in": ["SciFact", "STS12"]}}) == ["b", "d"]
    assert await ids(coll, {"_id": {"$in": ["a", "d"]}}) == ["a", "d"]
    assert await ids(coll, {"_id": {"$in": []}}) == []


async def test_find_comparisons(coll: Coll) -> None:
    await seed(coll)
    assert await ids(coll, {"n": {"$gt": 2}}) == ["c", "d"]
    assert await ids(coll, {"n": {"$gte": 2}}) == ["b", "c", "d"]
    assert await ids(coll, {"n": {"$lt": 2}}) == ["a"]
    assert await ids(coll, {"n": {"$lte": 2}}) == ["a", "b"]
    assert await ids(coll, {"n": {"$gt": 1, "$lt": 4}}) == ["b", "c"]
    assert await ids(coll, {"env.score": {"$gte": 0.7}}) == ["b", "c"]


async def test_find_comparison_skips_missing_fields(coll: Coll) -> None:
    await seed(coll)
    # "d" has no env.score: no comparison matches it (type bracketing, no null coercion).
    assert await ids(coll, {"env.score": {"$lt": 1.0}}) == ["a", "b", "c"]
    assert await ids(coll, {"env.score": {"$gte": 0}}) == ["a", "b", "c"]


@nx_bug("$gt on a number also matches strings")
async def test_find_comparison_does_not_cross_types(coll: Coll) -> None:
    await coll.insert_many(
        [{"_id": "num", "v": 5}, {"_id": "str", "v": "5"}, {"_id": "b", "v": "b"}]
    )
    # Comparisons only match values of the queried BSON type bracket.
    assert await ids(coll, {"v": {"$gt": 1}}) == ["num"]
    assert await ids(coll, {"v": {"$lt": 10}}) == ["num"]
    assert await ids(coll, {"v": {"$gte": "0"}}) == ["b", "str"]


async def test_find_comparisons_on_datetimes(coll: Coll) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    await coll.insert_many([{"_id": f"t{i}", "at": base + timedelta(days=i)} for i in range(4)])
    assert await ids(coll, {"at": {"$gte": base + timedelta(days=2)}}) == ["t2", "t3"]
    assert await ids(coll, {"at": {"$lt": base + timedelta(days=1)}}) == ["t0"]


async def test_find_comparisons_on_strings(coll: Coll) -> None:
    await coll.insert_many([{"_id": s} for s in ["2025-01-01", "2025-02-01", "2025-03-01"]])
    assert await ids(coll, {"_id": {"$gt": "2025-01-15", "$lte": "2025-03-01"}}) == [
        "2025-02-01",
        "2025-03-01",
    ]


async def test_find_exists(coll: Coll) -> None:
    await coll.insert_many(
        [{"_id": "x", "r": "why", "m": {"k": 1}}, {"_id": "y", "m": {}}, {"_id": "z", "r": 0}]
    )
    assert await ids(coll, {"r": {"$exists": True}}) == ["x", "z"]
    assert await ids(coll, {"r": {"$exists": False}}) == ["y"]
    assert await ids(coll, {"m.k": {"$exists": True}}) == ["x"]
    assert await ids(coll, {"m.k": {"$exists": False}}) == ["y", "z"]


@nx_bug("$exists treats a null field as absent")
async def test_find_exists_counts_a_null_field_as_present(coll: Coll) -> None:
    await coll.insert_many([{"_id": "x", "r": None}, {"_id": "y"}])
    assert await ids(coll, {"r": {"$exists": True}}) == ["x"]
    assert await ids(coll, {"r": {"$exists": False}}) == ["y"]


async def test_find_regex_top_level(coll: Coll) -> None:
    await seed(coll)
    assert await ids(coll, {"name": {"$regex": "^al"}}) == ["a"]
    assert await ids(coll, {"name": {"$regex": "^al", "$options": "i"}}) == ["a", "d"]
    assert await ids(coll, {"name": {"$regex": "ta$"}}) == ["b"]
    assert await ids(coll, {"name": {"$regex": "mm"}}) == ["c"]


async def test_find_regex_dotted(coll: Coll) -> None:
    await seed(coll)
    assert await ids(coll, {"env.task": {"$regex": "^S"}}) == ["b", "d"]
    assert await ids(coll, {"env.task": {"$regex": "SS"}}) == ["a", "c"]


async def test_find_regex_on_id_with_special_characters(coll: Coll) -> None:
    await coll.insert_many(
        [{"_id": "org/m@sha1|BIOSSES|2.26"}, {"_id": "org/m@sha2|BIOSSES|2.26"}, {"_id": "x|y"}]
    )
    assert await ids(coll, {"_id": {"$regex": r"^org/m@sha1\|"}}) == ["org/m@sha1|BIOSSES|2.26"]
    assert await ids(coll, {"_id": {"$regex": r"\|BIOSSES\|"}}) == [
        "org/m@sha1|BIOSSES|2.26",
        "org/m@sha2|BIOSSES|2.26",
    ]


@nx_bug("$regex also matches numbers")
async def test_find_regex_ignores_non_strings(coll: Coll) -> None:
    await coll.insert_many([{"_id": "num", "v": 5}, {"_id": "str", "v": "5"}])
    assert await ids(coll, {"v": {"$regex": "5"}}) == ["str"]


async def test_find_sort_skip_limit(coll: Coll) -> None:
    await seed(coll)
    ascending = [doc["_id"] async for doc in coll.find({}).sort("n", ASCENDING)]
    assert ascending == ["a", "b", "c", "d"]
    descending = [doc["_id"] async for doc in coll.find({}).sort("n", DESCENDING)]
    assert descending == ["d", "c", "b", "a"]
    page = [doc["_id"] async for doc in coll.find({}).sort("n", ASCENDING).skip(1).limit(2)]
    assert page == ["b", "c"]
    assert [doc["_id"] async for doc in coll.find({}).sort("n", ASCENDING).skip(10)] == []


async def test_find_sort_on_several_keys_and_dotted_field(coll: Coll) -> None:
    await seed(coll)
    by_task = coll.find({}).sort([("env.task", ASCENDING), ("n", DESCENDING)])
    # No collation: strings order by bytes, so "STS12" < "SciFact" ("T" < "c").
    assert [doc["_id"] async for doc in by_task] == ["c", "a", "d", "b"]


async def test_find_sort_puts_missing_first_ascending(coll: Coll) -> None:
    await seed(coll)
    by_score = coll.find({}).sort("env.score", ASCENDING)
    assert [doc["_id"] async for doc in by_score] == ["d", "a", "b", "c"]


async def test_find_exclusion_projection(coll: Coll) -> None:
    await coll.insert_one({"_id": "l", "name": "n", "rows": [{"r": 1}], "version": 2})
    assert (await coll.find_one({"_id": "l"}, {"rows": 0})) == {
        "_id": "l",
        "name": "n",
        "version": 2,
    }
    assert (await coll.find_one({"_id": "l"}, {"rows": 0, "version": 0})) == {
        "_id": "l",
        "name": "n",
    }
    listed = [doc async for doc in coll.find({}, {"rows": 0})]
    assert listed == [{"_id": "l", "name": "n", "version": 2}]


@nx_bug("dotted exclusion projections are ignored")
async def test_find_exclusion_projection_of_dotted_field(coll: Coll) -> None:
    await coll.insert_one({"_id": "l", "env": {"task": "t", "big": [1, 2, 3]}})
    assert (await coll.find_one({"_id": "l"}, {"env.big": 0})) == {
        "_id": "l",
        "env": {"task": "t"},
    }


async def test_count_documents(coll: Coll) -> None:
    await seed(coll)
    assert await coll.count_documents({}) == 4
    assert await coll.count_documents({"env.task": "BIOSSES"}) == 2
    assert await coll.count_documents({"n": {"$gte": 2}, "env.score": {"$exists": True}}) == 2
    assert await coll.count_documents({"name": "nobody"}) == 0
    assert await coll.count_documents({}, skip=1, limit=2) == 2


# find_one_and_update


async def test_find_one_and_update_guarded_by_status(coll: Coll) -> None:
    await coll.insert_one({"_id": "s", "status": "queued", "version": 1})
    missed = await coll.find_one_and_update(
        {"_id": "s", "status": "running"},
        {"$set": {"status": "completed"}},
        return_document=ReturnDocument.AFTER,
    )
    assert missed is None
    assert (await coll.find_one({"_id": "s"})) == {"_id": "s", "status": "queued", "version": 1}

    after = await coll.find_one_and_update(
        {"_id": "s", "status": "queued"},
        {"$set": {"status": "running"}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )
    assert after == {"_id": "s", "status": "running", "version": 2}


async def test_find_one_and_update_sets_lists_of_documents_with_datetimes(coll: Coll) -> None:
    moment = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    await coll.insert_one({"_id": "s", "version": 0, "tasks": [{"task": "A", "state": "queued"}]})
    tasks = [{"task": "A", "state": "done", "at": moment}, {"task": "B", "state": "queued"}]
    after = await coll.find_one_and_update(
        {"_id": "s", "version": 0},
        {"$set": {"version": 1, "tasks": tasks, "reason": None}},
        return_document=ReturnDocument.AFTER,
    )
    assert after == {"_id": "s", "version": 1, "tasks": tasks, "reason": None}
    assert (await coll.find_one({"_id": "s"})) == after


async def test_find_one_and_update_returns_before_by_default(coll: Coll) -> None:
    await coll.insert_one({"_id": "s", "status": "queued"})
    before = await coll.find_one_and_update({"_id": "s"}, {"$set": {"status": "running"}})
    assert before == {"_id": "s", "status": "queued"}
    assert (await coll.find_one({"_id": "s"})) == {"_id": "s", "status": "running"}


async def test_find_one_and_update_guard_lets_exactly_one_racer_win(coll: Coll) -> None:
    await coll.insert_one({"_id": "s", "status": "queued", "owner": None})
    winners = await asyncio.gather(
        *(
            coll.find_one_and_update(
                {"_id": "s", "status": "queued"},
                {"$set": {"status": "running", "owner": f"w{i}"}},
                return_document=ReturnDocument.AFTER,
            )
            for i in range(10)
        )
    )
    won = [doc for doc in winners if doc is not None]
    assert len(won) == 1
    assert (await coll.find_one({"_id": "s"})) == won[0]


async def test_find_one_and_update_inc_upsert_counts_each_racer_once(coll: Coll) -> None:
    """A counter raised and read in one operation: every racer sees its own count."""
    counts = await asyncio.gather(
        *(
            coll.find_one_and_update(
                {"_id": "k|day"},
                {"$inc": {"count": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            for _ in range(40)
        )
    )
    assert sorted(doc["count"] for doc in counts) == list(range(1, 41))
    assert (await coll.find_one({"_id": "k|day"})) == {"_id": "k|day", "count": 40}


# deletes


async def test_delete_one_removes_a_single_match(coll: Coll) -> None:
    await seed(coll)
    deleted = await coll.delete_one({"env.task": "BIOSSES"})
    assert deleted.deleted_count == 1
    assert await coll.count_documents({"env.task": "BIOSSES"}) == 1
    assert await coll.count_documents({}) == 3
    none = await coll.delete_one({"_id": "nope"})
    assert none.deleted_count == 0


async def test_delete_many(coll: Coll) -> None:
    await seed(coll)
    deleted = await coll.delete_many({"n": {"$lte": 2}})
    assert deleted.deleted_count == 2
    assert await ids(coll, {}) == ["c", "d"]
    everything = await coll.delete_many({})
    assert everything.deleted_count == 2
    assert await coll.count_documents({}) == 0


# bulk_write


async def test_bulk_write_mixed_operations(coll: Coll) -> None:
    await coll.insert_many([{"_id": "keep", "v": 1}, {"_id": "gone", "v": 2}])
    result = await coll.bulk_write(
        [
            InsertOne({"_id": "new", "v": 3}),
            UpdateOne({"_id": "keep"}, {"$set": {"v": 10}, "$push": {"log": "a"}}),
            UpdateOne({"_id": "ups"}, {"$setOnInsert": {"v": 4}}, upsert=True),
            ReplaceOne({"_id": "rep"}, {"_id": "rep", "v": 5}, upsert=True),
            DeleteOne({"_id": "gone"}),
        ]
    )
    assert result.inserted_count == 1
    assert result.matched_count == 1
    assert result.modified_count == 1
    assert result.upserted_count == 2
    assert result.deleted_count == 1
    assert result.upserted_ids == {2: "ups", 3: "rep"}
    docs = [doc async for doc in coll.find({}).sort("_id", ASCENDING)]
    assert docs == [
        {"_id": "keep", "v": 10, "log": ["a"]},
        {"_id": "new", "v": 3},
        {"_id": "rep", "v": 5},
        {"_id": "ups", "v": 4},
    ]


async def test_bulk_write_applies_in_order(coll: Coll) -> None:
    await coll.bulk_write(
        [
            InsertOne({"_id": "x", "v": 1}),
            UpdateOne({"_id": "x"}, {"$inc": {"v": 1}}),
            ReplaceOne({"_id": "x"}, {"_id": "x", "w": 1}),
            UpdateOne({"_id": "x"}, {"$set": {"v": 7}}),
        ]
    )
    assert (await coll.find_one({"_id": "x"})) == {"_id": "x", "w": 1, "v": 7}


async def test_bulk_write_duplicate_insert_raises(coll: Coll) -> None:
    await coll.insert_one({"_id": "x"})
    with pytest.raises(BulkWriteError) as raised:
        await coll.bulk_write([InsertOne({"_id": "y"}), InsertOne({"_id": "x"})])
    assert [error["code"] for error in raised.value.details["writeErrors"]] == [11000]
    assert await ids(coll, {}) == ["x", "y"]


async def test_bulk_guarded_upsert_missing_a_stored_id_fails_as_duplicate(coll: Coll) -> None:
    """A guard on the stored document keeps it: the upsert's insert collides with its id."""
    await coll.insert_many(
        [{"_id": "mine", "source": "evaluator"}, {"_id": "old", "source": "import"}]
    )
    guarded = [
        ReplaceOne(
            {"_id": key, "source": "import"}, {"_id": key, "source": "import", "v": 1}, upsert=True
        )
        for key in ("mine", "old", "new")
    ]
    with pytest.raises(BulkWriteError) as raised:
        await coll.bulk_write(guarded, ordered=False)
    errors = raised.value.details["writeErrors"]
    assert [(error["index"], error["code"]) for error in errors] == [(0, 11000)]
    docs = [doc async for doc in coll.find({}).sort("_id", ASCENDING)]
    assert docs == [
        {"_id": "mine", "source": "evaluator"},
        {"_id": "new", "source": "import", "v": 1},
        {"_id": "old", "source": "import", "v": 1},
    ]


# unique indexes


async def test_unique_index_rejects_duplicate_insert(coll: Coll) -> None:
    await coll.create_index([("key_hash", ASCENDING)], unique=True)
    await coll.insert_one({"_id": "k1", "key_hash": "h1"})
    with pytest.raises(DuplicateKeyError):
        await coll.insert_one({"_id": "k2", "key_hash": "h1"})
    await coll.insert_one({"_id": "k3", "key_hash": "h2"})
    assert await ids(coll, {}) == ["k1", "k3"]


async def test_unique_index_rejects_duplicate_update_and_upsert(coll: Coll) -> None:
    await coll.create_index([("key_hash", ASCENDING)], unique=True)
    await coll.insert_many([{"_id": "k1", "key_hash": "h1"}, {"_id": "k2", "key_hash": "h2"}])
    with pytest.raises(DuplicateKeyError):
        await coll.update_one({"_id": "k2"}, {"$set": {"key_hash": "h1"}})
    with pytest.raises(DuplicateKeyError):
        await coll.update_one({"_id": "k3"}, {"$set": {"key_hash": "h1"}}, upsert=True)
    assert (await coll.find_one({"_id": "k2"})) == {"_id": "k2", "key_hash": "h2"}
    assert await coll.count_documents({}) == 2


@nx_bug("unique index over duplicates raises without code 11000")
async def test_unique_index_on_existing_duplicates_fails(coll: Coll) -> None:
    # mongod answers createIndexes with code 11000, which pymongo raises as DuplicateKeyError.
    await coll.insert_many([{"_id": "k1", "key_hash": "h"}, {"_id": "k2", "key_hash": "h"}])
    with pytest.raises(DuplicateKeyError):
        await coll.create_index([("key_hash", ASCENDING)], unique=True)


@nx_bug("index names differ from MongoDB's")
async def test_create_index_is_idempotent(coll: Coll) -> None:
    first = await coll.create_index([("task", ASCENDING)])
    second = await coll.create_index([("task", ASCENDING)])
    assert first == second == "task_1"
    info = await coll.index_information()
    assert info["task_1"]["key"] == [("task", ASCENDING)]


# value round trips


async def test_datetime_round_trips_as_aware_utc_millis(coll: Coll) -> None:
    moment = datetime(2025, 6, 7, 8, 9, 10, 123456, tzinfo=UTC)
    await coll.insert_one({"_id": "t", "at": moment})
    found = await coll.find_one({"_id": "t"})
    assert found is not None
    at = found["at"]
    assert isinstance(at, datetime)
    assert at.utcoffset() == timedelta(0)
    assert at == moment.replace(microsecond=123000)


async def test_datetime_in_other_zone_is_stored_as_utc(coll: Coll) -> None:
    moment = datetime(2025, 6, 7, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    await coll.insert_one({"_id": "t", "at": moment, "nested": {"at": moment}})
    found = await coll.find_one({"_id": "t"})
    assert found is not None
    assert found["at"].utcoffset() == timedelta(0)
    assert found["at"] == datetime(2025, 6, 7, 8, 0, tzinfo=UTC)
    assert found["nested"]["at"] == datetime(2025, 6, 7, 8, 0, tzinfo=UTC)
    assert await ids(coll, {"at": datetime(2025, 6, 7, 8, 0, tzinfo=UTC)}) == ["t"]


class Flags(BaseModel):
    yes: bool
    no: bool


async def test_booleans_round_trip_on_insert(coll: Coll) -> None:
    await coll.insert_one({"_id": "b", "yes": True, "no": False, "nested": {"flag": True}})
    found = await coll.find_one({"_id": "b"})
    assert found is not None
    # Inserted booleans come back as bool from both mongod and nx-27017.
    assert found["yes"] is True
    assert found["no"] is False
    assert found["nested"]["flag"] is True


async def test_booleans_written_by_set_read_back_through_pydantic(coll: Coll) -> None:
    await coll.insert_one({"_id": "b"})
    await coll.update_one({"_id": "b"}, {"$set": {"yes": True, "no": False}})
    found = await coll.find_one({"_id": "b"})
    assert found is not None
    # mongod returns True/False here; nx-27017 returns 1/0 for booleans written by a top-level
    # $set (and by $push). DESIGN §6 accepts that and says to read documents through pydantic,
    # so this test checks only what a pydantic model makes of the values (and their truthiness).
    assert bool(found["yes"]) is True
    assert bool(found["no"]) is False
    flags = Flags.model_validate(found)
    assert flags.yes is True
    assert flags.no is False
    assert await ids(coll, {"yes": True}) == ["b"]
    assert await ids(coll, {"no": False}) == ["b"]


@nx_bug("booleans are stored as 0/1 and match integers")
async def test_booleans_match_in_queries(coll: Coll) -> None:
    await coll.insert_many(
        [{"_id": "t", "flag": True}, {"_id": "f", "flag": False}, {"_id": "one", "flag": 1}]
    )
    # BSON bool and int are different types: True does not match 1.
    assert await ids(coll, {"flag": True}) == ["t"]
    assert await ids(coll, {"flag": False}) == ["f"]


async def test_nested_documents_and_lists_round_trip(coll: Coll) -> None:
    doc = {
        "_id": "n",
        "rows": [
            {"rank": 1, "model": "org/a", "score": 0.875, "extra": None},
            {"rank": 2, "model": "org/b", "score": 0.5, "tags": ["x", "y"]},
        ],
        "columns": ["BIOSSES", "SciFact"],
        "meta": {"deep": {"deeper": {"list": [[1, 2], [], {"k": "v"}]}}, "empty": {}},
        "empty_list": [],
        "big": 2**40,
        "neg": -3,
        "text": "naïve ünïcödé ✓ 日本",
        "null": None,
    }
    await coll.insert_one(doc)
    found = await coll.find_one({"_id": "n"})
    assert found == doc
    assert isinstance(found["big"], int)  # bson.Int64, an int subclass, for 64-bit values
    assert type(found["rows"][0]["score"]) is float


async def test_field_order_is_preserved(coll: Coll) -> None:
    await coll.insert_one({"_id": "o", "z": 1, "a": 2, "m": {"y": 1, "b": 2}})
    found = await coll.find_one({"_id": "o"})
    assert found is not None
    assert list(found) == ["_id", "z", "a", "m"]
    assert list(found["m"]) == ["y", "b"]
