"""The standard TFLite Metadata writer (albert_edge.export.tflite_metadata): identifier, computed
parser version, refusal of unknown fields. A real reader checks what it writes in test_mediapipe.py."""
import flatbuffers
import pytest

from albert_edge.export import tflite_metadata as tm

BERT = {"options_type": "BertTokenizerOptions",
        "options": {"vocab_file": [{"name": "vocab.txt", "type": "VOCABULARY"}]}}


@pytest.mark.parametrize("metadata,version", [
    ({"name": "m"}, "1.0.0"),
    ({"name": "m", "associated_files": [{"name": "labels.txt", "type": "TENSOR_AXIS_LABELS"}]}, "1.0.0"),
    ({"name": "m", "associated_files": [{"name": "vocab.txt", "type": "VOCABULARY"}]}, "1.0.1"),
    ({"subgraph_metadata": [{"input_process_units": [BERT]}]}, "1.1.0"),
    ({"subgraph_metadata": [{"input_tensor_groups": [{"name": "g", "tensor_names": ["a"]}]}]}, "1.2.0"),
    ({"subgraph_metadata": [{"input_process_units": [BERT]}],
      "associated_files": [{"name": "x", "version": "2"}]}, "1.4.1"),
])
def test_min_parser_version_is_the_newest_feature_used(metadata, version):
    assert tm.min_parser_version(metadata) == version
    assert tm.with_parser_version(metadata)["min_parser_version"] == version


def test_the_buffer_has_the_m001_identifier_and_its_fields():
    data = tm.serialize({"name": "albert", "license": "research use only"})
    assert data[4:8] == b"M001"
    root = flatbuffers.table.Table(bytearray(data), flatbuffers.encode.Get(flatbuffers.packer.uoffset, data, 0))
    def string(slot):
        offset = root.Offset(4 + 2 * slot)
        return root.String(offset + root.Pos).decode() if offset else None
    assert (string(0), string(5), string(7)) == ("albert", "research use only", "1.0.0")


def test_unknown_fields_and_a_typed_in_version_are_refused():
    with pytest.raises(ValueError, match="no field"):
        tm.serialize({"name": "m", "licence": "x"})
    with pytest.raises(ValueError, match="computed"):
        tm.serialize({"name": "m", "min_parser_version": "1.0.0"})
