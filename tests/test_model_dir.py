"""ModelDir: one answer to "which model is this" (config, labels, task, vocab, weights) for every stage."""
import shutil

import pytest

from albert_edge import resources
from albert_edge.model_dir import ModelDir, ModelDirError

from conftest import mini_config, write_classifier_checkpoint  # noqa: E402  (tests/ is on sys.path)


def test_bundled_model_resolves_with_its_config_labels_and_task():
    m = ModelDir.resolve(None, preset="tiny")
    assert m.format == "tf1" and m.trained and m.path == resources.DEFAULT_MODEL
    assert m.task.name == "pairs" and m.labels == ["0", "1"]
    assert m.config.hidden_size == 312 and m.config.num_hidden_layers == 4 and m.config.vocab_size == 21128
    assert m.vocab == resources.VOCAB                        # no vocab.txt beside it: the bundled one
    assert {p.name for p in m.weight_files()} == {"albert_model.ckpt.index", "albert_model.ckpt.data-00000-of-00001"}


def test_a_config_of_its_own_without_a_checkpoint_is_an_untrained_model_of_that_shape(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(mini_config().to_json_string())
    m = ModelDir.resolve(None, config_file=config, preset="tiny")
    assert m.format == "preset" and not m.trained and m.config.hidden_size == 32
    assert m.weight_files() == [] and "untrained" in m.source


def test_task_comes_from_task_txt_else_from_the_labels(tmp_path):
    folder = write_classifier_checkpoint(tmp_path / "m", mini_config())      # labels.txt 0/1, no task.txt
    assert ModelDir.load(folder).task.name == "pairs"
    (folder / "labels.txt").write_text("contradiction\nentailment\nneutral\n")
    assert ModelDir.load(folder).task.name == "nli"
    ModelDir.write_sidecars(folder, ["negative", "positive"], "single")
    loaded = ModelDir.load(folder)
    assert loaded.task.name == "single" and loaded.labels == ["negative", "positive"]
    assert ModelDir.load(folder, task="pairs").task.name == "pairs"          # an explicit task wins


def test_vocab_beside_the_checkpoint_is_the_one_its_tokenizer_uses(tmp_path):
    folder = write_classifier_checkpoint(tmp_path / "m", mini_config())
    shutil.copy(resources.VOCAB, folder / "vocab.txt")
    m = ModelDir.load(folder)
    assert m.vocab == folder / "vocab.txt" and m.tokenizer().tokenize("今天") == ["今", "天"]


def test_built_model_has_the_checkpoint_weights(tmp_path):
    import numpy as np
    folder = write_classifier_checkpoint(tmp_path / "m", mini_config(), seed=3)
    model = ModelDir.load(folder).build_model()
    again = ModelDir.load(folder / "model.ckpt").build_model()                # a prefix works too
    for (name, a), (_, b) in zip(sorted(model.weight_map().items()), sorted(again.weight_map().items())):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    untrained = ModelDir.preset("tiny", config_file=None)
    assert not untrained.trained and untrained.labels == ["0", "1"]


def test_unusable_paths_say_what_is_missing(tmp_path):
    with pytest.raises(ModelDirError, match="no checkpoint at .*Hugging Face folder"):
        ModelDir.load(tmp_path)
    folder = write_classifier_checkpoint(tmp_path / "m", mini_config())
    (folder / "albert_config.json").unlink()
    with pytest.raises(ModelDirError, match="no albert_config.*json beside"):
        ModelDir.load(folder)
    assert ModelDir.load(folder, fallback_preset="tiny").config.hidden_size == 312
    (folder / "task.txt").write_text("sentiment\n")
    with pytest.raises(ModelDirError, match=r"task\.txt: unknown task 'sentiment'; choose one of pairs"):
        ModelDir.load(folder, fallback_preset="tiny")
    with pytest.raises(ModelDirError, match="model not found"):
        ModelDir.load(tmp_path / "missing.tflite")
