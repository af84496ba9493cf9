"""Standard TFLite Metadata (`TFLITE_METADATA`, file identifier `M001`), written from the published schema.

What Android Studio's model viewer, MediaPipe Tasks, the TFLite Task Library and every metadata
reader look for. Why written here rather than with a metadata-writer package: MediaPipe 1.2.3's
writer imports a `_pywrap_metadata_version` its wheel does not ship, tflite-support 0.4.4 would
downgrade protobuf, and neither may be a dependency of the export. The `flatbuffers` runtime
(already a TensorFlow dependency) is all it takes: the tables below are `metadata_schema.fbs`
(schema 1.5.0) field by field, in declaration order, which is what fixes each field's vtable slot.

The metadata is a plain dict shaped like the JSON a reader prints (flatc's text form: field names
as in the schema, a union as `<field>_type` + `<field>`, enums by name), so a test can compare what
a reader shows with what was written, field by field. `min_parser_version` is computed from the
fields used (the schema's "Added in" versions), never typed in.
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import flatbuffers

FILE_IDENTIFIER = b"M001"
METADATA_BUFFER_NAME = "TFLITE_METADATA"   # the model's metadata entry every reader looks up
BASE_PARSER_VERSION = "1.0.0"

# table -> [(field, type)] in schema order. Types: "string", "ubyte"/"uint"/"int"/"float" scalars,
# "enum:<Enum>", "[<Table>]" / "[string]" / "[float]" / "[uint]" vectors, "union:<Union>", or a table name.
TABLES: Dict[str, List[Tuple[str, str]]] = {
    "AssociatedFile": [("name", "string"), ("description", "string"), ("type", "enum:AssociatedFileType"),
                       ("locale", "string"), ("version", "string")],
    "FeatureProperties": [],
    "ValueRange": [("min", "int"), ("max", "int")],
    "Content": [("content_properties", "union:ContentProperties"), ("range", "ValueRange")],
    "BertTokenizerOptions": [("vocab_file", "[AssociatedFile]")],
    "ProcessUnit": [("options", "union:ProcessUnitOptions")],
    "Stats": [("max", "[float]"), ("min", "[float]")],
    "TensorGroup": [("name", "string"), ("tensor_names", "[string]")],
    "TensorMetadata": [("name", "string"), ("description", "string"), ("dimension_names", "[string]"),
                       ("content", "Content"), ("process_units", "[ProcessUnit]"), ("stats", "Stats"),
                       ("associated_files", "[AssociatedFile]")],
    "SubGraphMetadata": [("name", "string"), ("description", "string"),
                         ("input_tensor_metadata", "[TensorMetadata]"), ("output_tensor_metadata", "[TensorMetadata]"),
                         ("associated_files", "[AssociatedFile]"), ("input_process_units", "[ProcessUnit]"),
                         ("output_process_units", "[ProcessUnit]"), ("input_tensor_groups", "[TensorGroup]"),
                         ("output_tensor_groups", "[TensorGroup]"), ("custom_metadata", "[CustomMetadata]")],
    "ModelMetadata": [("name", "string"), ("description", "string"), ("version", "string"),
                      ("subgraph_metadata", "[SubGraphMetadata]"), ("author", "string"), ("license", "string"),
                      ("associated_files", "[AssociatedFile]"), ("min_parser_version", "string")],
}
ENUMS = {"AssociatedFileType": ("UNKNOWN", "DESCRIPTIONS", "TENSOR_AXIS_LABELS", "TENSOR_VALUE_LABELS",
                                "TENSOR_AXIS_SCORE_CALIBRATION", "VOCABULARY", "SCANN_INDEX_FILE")}
# Union members in schema order; index 0 is NONE. Only the members this kit writes have a table above.
UNIONS = {"ContentProperties": ("NONE", "FeatureProperties", "ImageProperties", "BoundingBoxProperties",
                                "AudioProperties"),
          "ProcessUnitOptions": ("NONE", "NormalizationOptions", "ScoreCalibrationOptions",
                                 "ScoreThresholdingOptions", "BertTokenizerOptions", "SentencePieceTokenizerOptions",
                                 "RegexTokenizerOptions")}

# The schema's history ("Added in"): what makes a reader older than this version miss something.
_FILE_TYPE_VERSION = {"VOCABULARY": "1.0.1", "SCANN_INDEX_FILE": "1.4.0"}
_UNION_MEMBER_VERSION = {"BertTokenizerOptions": "1.1.0", "SentencePieceTokenizerOptions": "1.1.0",
                         "RegexTokenizerOptions": "1.2.1", "AudioProperties": "1.3.0"}
_FIELD_VERSION = {("SubGraphMetadata", "input_process_units"): "1.1.0",
                  ("SubGraphMetadata", "output_process_units"): "1.1.0",
                  ("SubGraphMetadata", "input_tensor_groups"): "1.2.0",
                  ("SubGraphMetadata", "output_tensor_groups"): "1.2.0",
                  ("SubGraphMetadata", "custom_metadata"): "1.5.0",
                  ("AssociatedFile", "version"): "1.4.1"}


def _version_key(v: str) -> Tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def min_parser_version(metadata: Dict[str, Any]) -> str:
    """The oldest metadata parser that understands every field of `metadata` (a ModelMetadata dict):
    the largest "Added in" version among the fields, enum values and union members it uses."""
    found = [BASE_PARSER_VERSION]

    def walk(table: str, value: Dict[str, Any]) -> None:
        for field, kind in TABLES[table]:
            if field not in value or value[field] in (None, [], ""):
                continue
            found.append(_FIELD_VERSION.get((table, field), BASE_PARSER_VERSION))
            item = value[field]
            if kind == "enum:AssociatedFileType":
                found.append(_FILE_TYPE_VERSION.get(item, BASE_PARSER_VERSION))
            elif kind.startswith("union:"):
                member = value[f"{field}_type"]
                found.append(_UNION_MEMBER_VERSION.get(member, BASE_PARSER_VERSION))
                walk(member, item)
            elif kind.startswith("[") and kind[1:-1] in TABLES:
                for element in item:
                    walk(kind[1:-1], element)
            elif kind in TABLES:
                walk(kind, item)

    walk("ModelMetadata", metadata)
    return max(found, key=_version_key)


def serialize(metadata: Dict[str, Any]) -> bytes:
    """The ModelMetadata flatbuffer (identifier M001) for a dict shaped like a reader's JSON.

    `min_parser_version` is filled in here from the fields used; a value given is rejected, so the
    file can never claim a version its fields contradict."""
    if "min_parser_version" in metadata:
        raise ValueError("min_parser_version is computed from the fields used; do not set it")
    metadata = dict(metadata, min_parser_version=min_parser_version(metadata))
    builder = flatbuffers.Builder(1024)
    root = _table(builder, "ModelMetadata", metadata)
    builder.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def with_parser_version(metadata: Dict[str, Any]) -> Dict[str, Any]:
    """`metadata` as a reader will show it: with its computed min_parser_version."""
    return dict(metadata, min_parser_version=min_parser_version(metadata))


def _table(builder: flatbuffers.Builder, table: str, value: Dict[str, Any]) -> int:
    fields = TABLES[table]
    unknown = set(value) - {f for f, _ in fields} - {f"{f}_type" for f, k in fields if k.startswith("union:")}
    if unknown:
        raise ValueError(f"{table} has no field(s) {sorted(unknown)}")
    # Children first: a flatbuffer table refers to strings, vectors and tables built before it.
    slots: List[Tuple[int, str, Any]] = []
    slot = 0
    for field, kind in fields:
        present = field in value and value[field] is not None
        if kind.startswith("union:"):
            if present:
                member = value[f"{field}_type"]
                slots.append((slot, "ubyte", UNIONS[kind[6:]].index(member)))
                slots.append((slot + 1, "offset", _table(builder, member, value[field])))
            slot += 2
            continue
        if present:
            slots.append((slot, *_child(builder, kind, value[field])))
        slot += 1
    builder.StartObject(slot)
    for index, kind, item in slots:
        if kind == "offset":
            builder.PrependUOffsetTRelativeSlot(index, item, 0)
        elif kind == "ubyte":
            builder.PrependUint8Slot(index, item, 0)
        elif kind == "uint":
            builder.PrependUint32Slot(index, item, 0)
        elif kind == "int":
            builder.PrependInt32Slot(index, item, 0)
        elif kind == "float":
            builder.PrependFloat32Slot(index, item, 0.0)
    return builder.EndObject()


def _child(builder: flatbuffers.Builder, kind: str, item: Any) -> Tuple[str, Any]:
    """(slot kind, value or offset) of one present field."""
    if kind == "string":
        return "offset", builder.CreateString(item)
    if kind.startswith("enum:"):
        return "ubyte", ENUMS[kind[5:]].index(item)
    if kind in ("ubyte", "uint", "int", "float"):
        return kind, item
    if kind in TABLES:
        return "offset", _table(builder, kind, item)
    element = kind[1:-1]
    if element in TABLES or element == "string":
        offsets = [builder.CreateString(x) if element == "string" else _table(builder, element, x) for x in item]
        builder.StartVector(4, len(offsets), 4)
        for offset in reversed(offsets):
            builder.PrependUOffsetTRelative(offset)
        return "offset", builder.EndVector()
    if element not in ("float", "uint"):
        raise ValueError(f"field type {kind} is not written by this module (add its table to TABLES)")
    builder.StartVector(4, len(item), 4)
    for x in reversed(item):
        if element == "float":
            builder.PrependFloat32(float(x))
        else:
            builder.PrependUint32(int(x))
    return "offset", builder.EndVector()
