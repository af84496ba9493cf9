"""The one TSV reader (`data.tasks`): its rules, and that every caller of the kit goes through it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from albert_edge import resources
from albert_edge.data.tasks import DataError, label_ids, read_examples, read_texts

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


# --------------------------------------------------------------------------- rules
@pytest.mark.parametrize("header", ["text_a\ttext_b\tlabel", "sentence1\tsentence2\tlabel", "query1\tquery2\tlabel"])
def test_header_row_is_skipped(tmp_path, header):
    examples = read_examples(write(tmp_path / "h.tsv", f"{header}\n你好\t您好\t1\n"), "pairs")
    assert [(e.text_a, e.text_b, e.label) for e in examples] == [("你好", "您好", "1")]
    assert examples[0].where.endswith("h.tsv:2")


def test_id_column_is_dropped_when_the_header_names_it(tmp_path):
    path = write(tmp_path / "pawsx.tsv", "id\tsentence1\tsentence2\tlabel\n7\t甲\t乙\t0\n8\t丙\t丁\t1\n")
    assert [(e.text_a, e.text_b, e.label) for e in read_examples(path, "pairs")] == [("甲", "乙", "0"), ("丙", "丁", "1")]
    assert [(e.text_a, e.label) for e in read_texts(path, "pairs")] == [("甲", "0"), ("丙", "1")]


def test_bad_lines_name_file_and_line(tmp_path):
    cases = {
        "fields.tsv": ("a\tb\t1\n\nc\td\n", r"fields\.tsv:3: expected 3 TAB-separated fields"),
        "label.tsv": ("a\tb\t1\nc\td\t \n", r"label\.tsv:2: empty label"),
        "text.tsv": ("a\tb\t1\nc\t\t0\n", r"text\.tsv:2: empty text in column 2"),
    }
    for name, (text, message) in cases.items():
        with pytest.raises(DataError, match=message):
            read_examples(write(tmp_path / name, text), "pairs")
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes("你好\t再见\t1\n".encode("utf-8") + "caf\xe9\tx\t0\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.tsv:2: not UTF-8"):
        read_texts(latin1, "pairs")
    examples = read_examples(write(tmp_path / "ok.tsv", "a\tb\tx\n"), "pairs")
    with pytest.raises(DataError, match=r"ok\.tsv:1: label 'x' is not in the label set"):
        label_ids(examples, ["0", "1"])


def test_files_that_are_no_data(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        read_texts(tmp_path, "pairs")
    with pytest.raises(DataError, match="not found"):
        read_examples(tmp_path / "missing.tsv", "pairs")
    with pytest.raises(DataError, match="no examples"):
        read_examples(write(tmp_path / "blank.tsv", "\n  \n"), "pairs")
    with pytest.raises(DataError, match="unknown task kind 'mlm'"):
        read_examples(write(tmp_path / "x.tsv", "a\t1\n"), "mlm")


def test_crlf_cr_and_byte_order_mark(tmp_path):
    crlf = write(tmp_path / "crlf.tsv", "\ufeff甲\t乙\t1\r\n丙\t丁\t0\r\n戊\t己\t1\r")
    assert [(e.text_a, e.label, e.where[-1]) for e in read_examples(crlf, "pairs")] == [
        ("甲", "1", "1"), ("丙", "0", "2"), ("戊", "1", "3")]
    # a byte-order mark must not hide the header it stands before
    header = write(tmp_path / "bom_header.tsv", "\ufefftext_a\ttext_b\tlabel\n甲\t乙\tentailment\n")
    assert [(e.text_a, e.label) for e in read_examples(header, "nli")] == [("甲", "entailment")]


def test_line_separators_inside_a_sentence_do_not_split_it(tmp_path):
    path = write(tmp_path / "u2028.tsv", "第一句\u2028续\t第二句\x0c\t1\n")
    (example,) = read_examples(path, "pairs")
    assert example.text_a == "第一句\u2028续" and example.label == "1"


def test_single_sentences(tmp_path):
    path = write(tmp_path / "single.tsv", "text\tlabel\n好评\tpositive\n")
    assert [(e.text_a, e.text_b, e.label) for e in read_examples(path, "single")] == [("好评", None, "positive")]
    with pytest.raises(DataError, match=r"two\.tsv:1: expected 2 TAB-separated fields \(text<TAB>label\)"):
        read_examples(write(tmp_path / "two.tsv", "甲\t乙\t1\n"), "single")
    assert [(e.text_a, e.label) for e in read_texts(write(tmp_path / "t.tsv", "好评\n差评\n"), "single")] == [
        ("好评", None), ("差评", None)]


def test_unlabelled_pairs_take_an_optional_label_column_the_same_on_every_line(tmp_path):
    bare = write(tmp_path / "bare.tsv", "甲\t乙\n丙\t丁\n")
    assert [(e.text_a, e.text_b, e.label) for e in read_texts(bare, "pairs")] == [("甲", "乙", None), ("丙", "丁", None)]
    with pytest.raises(DataError, match=r"bare\.tsv:1: expected 3 TAB-separated fields"):
        read_examples(bare, "pairs")
    labelled = write(tmp_path / "labelled.tsv", "甲\t乙\t1\n")
    assert [e.label for e in read_texts(labelled, "pairs")] == ["1"]
    with pytest.raises(DataError, match=r"mixed\.tsv:2: found 3 TAB-separated fields, but .*mixed\.tsv:1 has 2"):
        read_texts(write(tmp_path / "mixed.tsv", "甲\t乙\n丙\t丁\t1\n"), "pairs")
    with pytest.raises(DataError, match=r"one\.tsv:1: expected 2 or 3 TAB-separated fields"):
        read_texts(write(tmp_path / "one.tsv", "只有一句\n"), "pairs")


def test_bundled_samples_read_cleanly():
    assert len(read_examples(resources.LCQMC_CALIBRATION, "pairs")) == 300
    assert len(read_examples(resources.LCQMC_VALID, "pairs")) == 2000


# --------------------------------------------------------------------------- callers
def test_host_and_arm_benchmarks_read_pairs_through_the_reader(tmp_path):
    from albert_edge.emulation.errors import ArmRunError
    from albert_edge.emulation.qemu_run import load_pairs_file
    from albert_edge.benchmark.host import HostBenchmarkError, load_pairs

    assert load_pairs(limit=3) == [(e.text_a, e.text_b) for e in read_examples(resources.LCQMC_CALIBRATION)][:3]
    assert load_pairs(write(tmp_path / "p.tsv", "甲\t乙\n丙\t丁\n")) == [("甲", "乙"), ("丙", "丁")]
    bad = write(tmp_path / "bad.tsv", "甲\t乙\n丙\n")
    with pytest.raises(HostBenchmarkError, match=r"bad\.tsv:2"):
        load_pairs(bad)
    with pytest.raises(ArmRunError, match=r"bad\.tsv:2"):
        load_pairs_file(bad, 5)


def test_peers_and_behaviour_read_pairs_through_the_reader(tmp_path):
    from albert_edge import behaviour
    from albert_edge.benchmark.peers import read_pairs

    path = write(tmp_path / "p.tsv", "sentence1\tsentence2\n" + "".join(f"问{i}\t答{i}\n" for i in range(20)))
    sample = read_pairs(path, 5, seed=1)
    assert sample == read_pairs(path, 5, seed=1) and len(set(sample)) == 5
    assert all(a[1:] == b[1:] for a, b in sample)          # pairs stay pairs; the header is no pair
    assert set(behaviour.seed_sentences(path)) == {f"问{i}" for i in range(20)} | {f"答{i}" for i in range(20)}
    with pytest.raises(DataError, match=r"bad\.tsv:1"):
        read_pairs(write(tmp_path / "bad.tsv", "甲\n"), 5)


@pytest.mark.slow
def test_similarity_cli_names_the_bad_line_and_exits_2(tmp_path):
    bad = write(tmp_path / "pairs.tsv", "甲\t乙\n丙\t\n")
    proc = subprocess.run([sys.executable, "-m", "albert_edge.similarity", "--model", str(tmp_path / "m.tflite"),
                           "--pairs", str(bad)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "pairs.tsv:2: empty text in column 2" in proc.stderr and "Traceback" not in proc.stderr
