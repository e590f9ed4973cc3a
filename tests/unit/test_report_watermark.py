"""The report's watermark: engine-specific parts in Python, the same flat JSON and schema."""

from __future__ import annotations

import json

from pydantic import TypeAdapter

from provenance.report import ImageGeometry, MarkStatus, Region, Watermark, to_json

# docs/design.md, "The JSON report": these keys keep their names.
REPORTED = [
    *("status", "detected", "alg", "payload", "key", "p_value", "record", "agrees", "note"),
    *("scale", "angle", "offset", "altered_regions"),
]


def test_the_image_geometry_sits_beside_the_common_fields() -> None:
    region = Region(0, 0, 8, 8, 0.01, "altered")
    found = Watermark(
        MarkStatus.FOUND,
        detected=True,
        payload="00",
        geometry=ImageGeometry(1.0, 0.5, (2.0, 3.0), (region,)),
    )
    data = to_json(found)
    assert list(data) == REPORTED
    assert (data["scale"], data["angle"], data["offset"]) == (1.0, 0.5, [2.0, 3.0])
    assert data["altered_regions"][0]["state"] == "altered"


def test_a_finding_without_geometry_reports_it_empty() -> None:
    data = to_json(Watermark.not_checked("no watermark check for audio content"))
    assert list(data) == REPORTED
    assert [data[k] for k in ("scale", "angle", "offset", "altered_regions")] == [
        None,
        None,
        None,
        [],
    ]


def test_the_schema_describes_the_json_as_written() -> None:
    schema = TypeAdapter(Watermark).json_schema(mode="serialization")
    properties = schema.get("properties") or schema["$defs"]["Watermark"]["properties"]
    assert list(properties) == REPORTED
    assert properties["altered_regions"]["items"] == {"$ref": "#/$defs/Region"}


def test_pydantic_reads_and_writes_the_json_as_written() -> None:
    adapter = TypeAdapter(Watermark)
    found = Watermark(
        MarkStatus.FOUND,
        detected=True,
        payload="00",
        geometry=ImageGeometry(1.0, 0.5, (2.0, 3.0), (Region(0, 0, 8, 8, 0.01, "altered"),)),
    )
    for mark in (found, Watermark(MarkStatus.NOT_FOUND, alg="x")):
        data = to_json(mark)
        assert adapter.validate_json(json.dumps(data)) == mark
        assert adapter.dump_python(mark, mode="json") == data
