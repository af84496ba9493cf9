"""Standard readers on the kit's exports: MediaPipe's MetadataDisplayer and TextClassifier.

Two models, both fine-tuned here on the ChnSentiCorp sample (tests/data/tasks/):

* the mini model of tests/test_export_tasks.py, exported in every registered variant with
  --mediapipe: every file — the multi-length models and the single-length `.mediapipe.tflite`
  ones — is read back with MediaPipe's own metadata reader, field by field;
* albert_tiny fine-tuned from the bundled model (2 epochs, ~76 % on the 120 dev sentences), exported
  fp32 + int8 at L64 with --mediapipe: MediaPipe's TextClassifier classifies all 520 sample
  sentences and must give the kit runtime's scores. Why not the mini model here: its scores are
  constant to 1e-5 (it learns only the prior on 400 examples), so two different tokenizations of a
  sentence moved its score by as little as 6e-8 — an equality test on it could not fail.

MediaPipe runs in its own interpreter (tests/mediapipe_env.py: it cannot share the kit's absl-py).
"""
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import mediapipe_env
from test_export_tasks import CASES, finetune_case

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
LICENCE = "ChnSentiCorp sample: research use only (test model)"
SEQ_LENS = (32, 64)


@pytest.fixture(scope="module")
def single_export(tmp_path_factory):
    from albert_edge.export import variants as vr
    from albert_edge.export.pipeline import ExportOptions, export
    work = tmp_path_factory.mktemp("mediapipe")
    model = finetune_case("single", work / "model")
    (model / "licence.txt").write_text(LICENCE + "\n", encoding="utf-8")
    train, dev, labels = CASES["single"]
    # Every registered variant, freeze + convert: what is checked here is what readers see (the
    # export's own gates on this task run in test_export_tasks.py).
    result = export(ExportOptions(preset="tiny", checkpoint=str(model), out=str(work / "export"),
                                  variants=vr.names(), seq_lens=SEQ_LENS, calibration=str(train), eval=str(dev),
                                  qat_steps=5, stages=("freeze", "convert"), progress=False, mediapipe=True))
    return result.out_dir, labels


@pytest.fixture(scope="module")
def sentiment_export(tmp_path_factory):
    from albert_edge import resources
    from albert_edge.export.pipeline import ExportOptions, export
    from albert_edge.train.finetune import FinetuneOptions, Finetuner
    work = tmp_path_factory.mktemp("sentiment")
    train, dev, labels = CASES["single"]
    Finetuner(FinetuneOptions(task="single", train_files=[str(train)], output_dir=str(work / "model"),
                              init_checkpoint=str(resources.BUNDLED_MODELS["tiny"]), labels=labels, batch_size=32,
                              max_seq_len=64, epochs=2, learning_rate=5e-5, progress=False, log_every=50)).run()
    result = export(ExportOptions(preset="tiny", checkpoint=str(work / "model"), out=str(work / "export"),
                                  variants=("fp32", "int8"), seq_lens=(64,), calibration=str(train), eval=str(dev),
                                  stages=("freeze", "convert"), progress=False, mediapipe=True))
    return result.out_dir, labels


def _sentences():
    train, dev, _ = CASES["single"]
    texts = []
    for path in (dev, train):
        texts += [line.split("\t")[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


def _files(out: Path):
    return sorted(out.glob("*.tflite"))


def test_every_variant_and_length_is_written(single_export):
    from albert_edge.export import variants as vr
    out, _ = single_export
    names = {p.name for p in _files(out)}
    for v in vr.names():
        assert f"albert_tiny_{v}.tflite" in names
        for L in SEQ_LENS:
            assert f"albert_tiny_{v}_L{L}.mediapipe.tflite" in names


def test_a_metadata_reader_shows_standard_metadata_in_every_file(single_export):
    """MediaPipe's MetadataDisplayer on every file: each field as written, the files it names packed."""
    from albert_edge.export import metadata, tflite_metadata
    from albert_edge.runtime import read_metadata
    out, labels = single_export
    files = _files(out)
    shown = mediapipe_env.run("metadata", *map(str, files))
    vocab = (out / "vocab.txt").read_bytes()
    for path in files:
        data = path.read_bytes()
        model = metadata.read_model(data)
        kit = read_metadata(path)                    # the kit's own dialect stays, beside the standard one
        seen = shown[str(path)]["json"]
        assert seen == tflite_metadata.with_parser_version(metadata.standard_metadata(model, kit, LICENCE)), path
        # every field, stated independently of the writer:
        assert seen["name"] == f"albert_tiny single ({kit['variant']})"
        assert "task single" in seen["description"] and "negative, positive" in seen["description"]
        assert seen["version"].startswith(kit["variant"])
        assert seen["author"] == "albert_edge" and seen["license"] == LICENCE
        assert seen["min_parser_version"] == "1.1.0"   # BertTokenizerOptions / input_process_units
        subgraphs = seen["subgraph_metadata"]
        single = re.search(r"_L(\d+)\.mediapipe\.tflite$", path.name)
        lengths = [int(single.group(1))] if single else list(SEQ_LENS)
        assert kit["seq_lens"] == lengths
        assert [s["name"] for s in subgraphs] == [f"L{L}" for L in lengths]   # subgraph i is signature L<len>
        assert len(subgraphs) == len(model.subgraphs)
        for index, (sub, graph) in enumerate(zip(subgraphs, model.subgraphs)):
            signature = next(d for d in model.signatureDefs if d.subgraphIndex == index)
            assert signature.signatureKey.decode() == sub["name"]
            served = {t.tensorIndex: t.name.decode() for t in signature.outputs}
            assert [t["name"] for t in sub["output_tensor_metadata"]] == [served[i] for i in graph.outputs]
            tensor = [graph.tensors[i].name.decode() for i in graph.inputs]
            standard = {"input_ids": "ids", "input_mask": "mask", "segment_ids": "segment_ids"}
            assert [t["name"] for t in sub["input_tensor_metadata"]] == \
                [next(v for k, v in standard.items() if n.split(":")[0].endswith(k)) for n in tensor]
            assert all(t["content"]["content_properties_type"] == "FeatureProperties" and t["description"]
                       for t in sub["input_tensor_metadata"] + sub["output_tensor_metadata"])
            (unit,) = sub["input_process_units"]
            assert unit["options_type"] == "BertTokenizerOptions"
            assert [(f["name"], f["type"]) for f in unit["options"]["vocab_file"]] == [("vocab.txt", "VOCABULARY")]
            outputs = {t["name"]: t for t in sub["output_tensor_metadata"]}
            assert set(outputs) == {"probabilities", "logits"}
            for t in outputs.values():
                assert [(f["name"], f["type"]) for f in t["associated_files"]] == [("labels.txt", "TENSOR_AXIS_LABELS")]
            assert outputs["probabilities"]["stats"] == {"max": [1.0], "min": [0.0]}
            if path.name.endswith(".mediapipe.tflite"):
                assert sub["output_tensor_metadata"][0]["name"] == "probabilities"   # MediaPipe's first head
        assert set(shown[str(path)]["files"]) == {"albert_edge.json", "vocab.txt", "labels.txt"}
        with zipfile.ZipFile(path) as z:
            assert z.read("vocab.txt") == vocab
            assert z.read("labels.txt").decode().split() == labels
            assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())


def _two_tokenizers(vocab: Path):
    """(ours, MediaPipe's as measured here): text, seq_len -> Encoding.

    Where MediaPipe's BERT tokenizer parts from ours (google-research/bert's), as this test found
    on the sample: it lower-cases ASCII only and strips no accents (ours applies str.lower() and
    drops combining marks: full-width Latin Ａ -> ａ, é -> e), and the ideographic space U+3000 is a
    token for it ([UNK]), whitespace for us. Anything else would show up below as a score mismatch."""
    from albert_edge.tokenization import FullTokenizer, encode_tokens
    ours = FullTokenizer(str(vocab), do_lower_case=True)
    theirs = FullTokenizer(str(vocab), do_lower_case=False)

    def mediapipe(text: str, seq_len: int):
        tokens = []
        for i, piece in enumerate(text.split("\u3000")):
            if i:
                tokens.append("\u3000" if "\u3000" in theirs.vocab else "[UNK]")
            tokens += theirs.tokenize("".join(c.lower() if c.isascii() else c for c in piece))
        return encode_tokens(theirs.vocab, tokens, None, seq_len)
    return (lambda text, seq_len: ours.encode(text, None, max_seq_len=seq_len)), mediapipe


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_text_classifier_gives_the_kit_runtimes_scores(sentiment_export, variant, tmp_path, capsys):
    from albert_edge.runtime import TFLiteModel, probabilities_of
    out, labels = sentiment_export
    L = 64
    path = out / f"albert_tiny_{variant}_L{L}.mediapipe.tflite"
    texts = _sentences()
    assert len(texts) >= 300
    text_file = tmp_path / "texts.txt"
    text_file.write_text("\n".join(texts) + "\n", encoding="utf-8")
    results = mediapipe_env.run("classify", str(path), str(text_file))
    assert len(results) == len(texts)
    assert all(list(r) == ["probabilities", "logits"] for r in results)   # heads in output order
    theirs = np.array([[r["probabilities"][label] for label in labels] for r in results])
    their_logits = np.array([[r["logits"][label] for label in labels] for r in results])

    kit = TFLiteModel(path)
    ours = kit.predict_pairs([(t, None) for t in texts], seq_len=L)
    assert ours[:, 1].std() > 0.05, "the model must tell sentences apart, or equal scores prove nothing"
    ours_encode, mediapipe_encode = _two_tokenizers(out / "vocab.txt")
    differs = [i for i, t in enumerate(texts) if ours_encode(t, L).input_ids != mediapipe_encode(t, L).input_ids]
    same = [i for i in range(len(texts)) if i not in differs]
    moved = [float(np.abs(theirs[i] - ours[i]).max()) for i in differs]
    with capsys.disabled():
        print(f"\n{variant}: {len(differs)} of {len(texts)} sentences tokenized differently by MediaPipe "
              f"(full-width / accented Latin, U+3000): {[texts[i][:24] for i in differs]}; their scores moved by "
              f"{[round(m, 4) for m in moved]}; max |MediaPipe - kit| over the other {len(same)}: "
              f"{np.abs(theirs[same] - ours[same]).max():.3g}")
    assert differs and max(moved) > 1e-3   # the sample has such sentences, and they do score differently
    # Equal where the tokens agree: the same file, the same kernels' arithmetic.
    np.testing.assert_allclose(theirs[same], ours[same], rtol=0, atol=1e-6)
    # And where they do not, MediaPipe's scores are the kit's on MediaPipe's own tokens: the
    # difference is the tokenizer's and nothing else.
    for i in differs:
        run = kit.run(mediapipe_encode(texts[i], L), L)
        np.testing.assert_allclose(theirs[i], probabilities_of(run), rtol=0, atol=1e-6)
        np.testing.assert_allclose(their_logits[i], run["logits"][0], rtol=0, atol=1e-6)
    # The two heads are the model's own probabilities and logits: never a softmax of a softmax.
    np.testing.assert_allclose(theirs, np.exp(their_logits) / np.exp(their_logits).sum(1, keepdims=True),
                               rtol=0, atol=2e-2 if variant == "int8" else 1e-5)
    assert np.array_equal(theirs.argmax(1)[same], ours.argmax(1)[same])


def test_text_classifier_refuses_the_multi_length_file_so_it_has_its_own(single_export, tmp_path):
    """Why --mediapipe writes other files: MediaPipe's classifier takes one subgraph, and the multi-length
    model has one per length (its metadata describes each, in subgraph order, for readers that look)."""
    out, _ = single_export
    (tmp_path / "t.txt").write_text("房间很干净\n", encoding="utf-8")
    proc = mediapipe_env.call("classify", str(out / "albert_tiny_fp32.tflite"), str(tmp_path / "t.txt"))
    assert proc.returncode != 0 and "single subgraph" in proc.stderr, proc.stderr[-2000:]


def test_the_kit_runtime_reads_a_mediapipe_file_as_its_multi_length_one(single_export):
    from albert_edge.runtime import TFLiteModel
    out, _ = single_export
    texts = [(t, None) for t in _sentences()[:40]]
    multi = TFLiteModel(out / "albert_tiny_fp32.tflite")
    single = TFLiteModel(out / "albert_tiny_fp32_L64.mediapipe.tflite")
    assert single.seq_lens == [64] and single.labels == multi.labels
    np.testing.assert_allclose(single.predict_pairs(texts), multi.predict_pairs(texts, seq_len=64), rtol=0, atol=1e-6)


def test_readme_mediapipe_example_runs(sentiment_export, tmp_path):
    """README's three-line MediaPipe example, run as printed (model path swapped for this export's)."""
    out, labels = sentiment_export
    block = re.search(r"```python\n(from mediapipe\.tasks\.python import text\n.*?)```",
                      README.read_text(encoding="utf-8"), re.S).group(1)
    assert len(block.strip().splitlines()) == 3
    model = out / "albert_tiny_int8_L64.mediapipe.tflite"
    script = block.replace("exports/chnsenticorp/albert_tiny_int8_L64.mediapipe.tflite", str(model))
    assert script != block
    (tmp_path / "example.py").write_text(script, encoding="utf-8")
    proc = subprocess.run([mediapipe_env.python(), str(tmp_path / "example.py")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Category(index=1, score=0.53..., display_name=None, category_name='positive')
    shown = re.fullmatch(r"Category\(index=(\d), score=([0-9.e-]+), display_name=None, category_name='(\w+)'\)\n",
                         proc.stdout)
    assert shown, proc.stdout
    assert labels[int(shown.group(1))] == shown.group(3) and 0.5 <= float(shown.group(2)) <= 1.0


@pytest.mark.parametrize("task", ["pairs", "nli"])
def test_mediapipe_flag_is_refused_for_two_text_tasks(task, tmp_path):
    """Exit 2 with the reason, before anything is written (the bundled pair model, read as each task)."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "albert_edge.export", "tiny", "--task", task, "--mediapipe",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "two texts" in proc.stderr and "no two-text input" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_android_assets_take_the_multi_length_files_only(single_export, tmp_path):
    """The app reads the multi-length models; the .mediapipe.tflite files beside them stay out of its assets."""
    out, _ = single_export
    script = Path(__file__).resolve().parents[1] / "android_demo" / "copy_assets.sh"
    proc = subprocess.run(["bash", str(script), str(out)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ASSETS_DIR": str(tmp_path / "assets")})
    assert proc.returncode == 0, proc.stderr
    copied = {p.name for p in (tmp_path / "assets").glob("*.tflite")}
    assert copied == {p.name for p in out.glob("albert_tiny_*.tflite") if not p.name.endswith(".mediapipe.tflite")}
