"""The API's typed errors placed by the form field they are about, with their file and line."""

from __future__ import annotations

from services.web.api_forwarding import error_text, placed

FIELDS = {"name", "qrels", "languages", "score_range", "data"}


def error(**fields: object) -> dict[str, object]:
    return {"error": {"code": "x", "message": "m"} | fields}


def test_an_error_goes_by_its_field_or_a_prefix_of_it() -> None:
    assert list(placed(error(field="name"), FIELDS, {})) == ["name"]
    assert list(placed(error(field="metadata.languages"), FIELDS, {})) == ["languages"]
    assert list(placed(error(field="metadata.languages.0"), FIELDS, {})) == ["languages"]
    assert list(placed(error(field="qrels:dev"), FIELDS, {})) == ["qrels"]
    aliases = {"metadata.score_range": "score_range"}
    assert list(placed(error(field="metadata.score_range"), FIELDS, aliases)) == ["score_range"]
    assert list(placed(error(field="nowhere"), FIELDS, {})) == ["form"]
    assert list(placed(error(), FIELDS, {})) == ["form"]
    by_file = {"my-qrels.tsv": "qrels"}  # a data file's column: by the input it came from
    assert list(placed(error(field="score", file="my-qrels.tsv"), FIELDS, by_file)) == ["qrels"]
    assert list(placed(error(field="score", file="a/my-qrels.tsv"), FIELDS, by_file)) == ["qrels"]
    assert list(placed({}, FIELDS, {})) == ["form"]


def test_the_text_names_the_file_the_line_and_the_code() -> None:
    found = {"code": "duplicate_id", "message": "id q1 twice", "file": "q.jsonl", "line": 7}
    text = error_text(found)
    assert text == "id q1 twice (file q.jsonl, line 7) [duplicate_id]"
    assert (
        error_text(found | {"field": "id"})
        == "id q1 twice (file q.jsonl, line 7, field id) [duplicate_id]"
    )
    assert error_text({"message": "no"}) == "no [refused]"
