"""The task registry (albert_edge.tasks): one class per task, looked up by name everywhere."""
from pathlib import Path

import numpy as np
import pytest

from albert_edge import resources, tasks
from albert_edge.data.tasks import DataError, Example
from albert_edge.tokenization import FullTokenizer

DATA = Path(__file__).parent / "data" / "tasks"


def test_registry_has_one_entry_per_task_and_names_them_on_a_typo():
    assert tasks.names() == ("pairs", "single", "nli", "mlm")
    assert tasks.names(trainable=True) == ("pairs", "single", "nli")
    assert {tasks.get(n).head for n in tasks.names()} == {"classifier", "mlm"}
    assert tasks.get("mlm").default_calibration == resources.LCQMC_CALIBRATION   # int8 of the MLM graph
    with pytest.raises(tasks.UnknownTask, match="unknown task 'pair'; choose one of pairs, single, nli, mlm"):
        tasks.get("pair")


def test_each_task_owns_its_data_labels_outputs_and_behaviour_suite():
    pairs, single, nli, mlm = (tasks.get(n) for n in ("pairs", "single", "nli", "mlm"))
    assert pairs.default_calibration == resources.LCQMC_CALIBRATION and pairs.default_eval == resources.LCQMC_DEV
    assert pairs.behaviour_suite and not single.behaviour_suite and not nli.behaviour_suite
    assert single.default_calibration is None and single.default_eval is None   # a user's own data
    assert pairs.labels() == ["0", "1"] and nli.labels() == ["contradiction", "entailment", "neutral"]
    with pytest.raises(DataError, match="single task has no default label set"):
        single.labels()
    assert single.labels(["neg", "pos"]) == ["neg", "pos"]
    assert pairs.outputs == ("logits", "probabilities") and mlm.outputs == ("log_probs",)
    assert mlm.head == "mlm" and not mlm.trainable


def test_tasks_read_their_own_files_and_reject_the_other_format():
    single = tasks.get("single").read(DATA / "chnsenticorp_dev.tsv")
    assert len(single) == 120 and single[0].text_b is None and {e.label for e in single} == {"positive", "negative"}
    nli = tasks.get("nli").read(DATA / "xnli_dev.tsv")                          # header skipped
    assert len(nli) == 120 and {e.label for e in nli} == {"contradiction", "entailment", "neutral"}
    with pytest.raises(DataError, match=r"chnsenticorp_dev\.tsv:1: expected 3 TAB-separated fields"):
        tasks.get("pairs").read(DATA / "chnsenticorp_dev.tsv")


def test_single_sentence_encoding_has_one_segment_and_pairs_two():
    tok = FullTokenizer()
    one = tasks.get("single").encode(tok, Example("这家酒店很好", None, "positive", "x:1"), 16)
    two = tasks.get("pairs").encode(tok, Example("今天", "明天", "0", "x:1"), 16)
    assert one.segment_ids == [0] * 16 and sum(one.input_mask) == 8          # [CLS] 6 chars [SEP]
    assert two.segment_ids[:4] == [0, 0, 0, 0] and two.segment_ids[4:7] == [1, 1, 1]


def test_score_is_accuracy_and_binary_f1():
    logits = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    out = tasks.get("pairs").score(logits, [1, 0, 0, 1])
    assert out["accuracy"] == 0.75 and out["f1"] == pytest.approx(0.8)
    three = tasks.get("nli").score(np.eye(3), [0, 1, 1])
    assert three == {"accuracy": pytest.approx(2 / 3)}


def test_inferred_task_of_a_model_that_recorded_none():
    assert tasks.infer(["0", "1"]).name == "pairs"
    assert tasks.infer(["neutral", "entailment", "contradiction"]).name == "nli"
    assert tasks.infer(["neg", "pos"]).name == "pairs"       # unknown classifier: a pair encoder is safe
    assert tasks.infer([], head="mlm").name == "mlm"


def test_a_new_task_is_one_registered_class():
    @tasks.register
    class TopicTask(tasks.Task):
        name = "topic_test"
        description = "test-only: single sentences with fixed topic labels"
        data_format = "single"
        default_labels = ("a", "b", "c")

    try:
        assert tasks.get("topic_test").labels() == ["a", "b", "c"]
        assert "topic_test" in tasks.names(trainable=True)
        with pytest.raises(ValueError, match="already registered"):
            tasks.register(TopicTask)
        from albert_edge.train.common import TrainingError
        from albert_edge.train.finetune import FinetuneOptions, Finetuner
        # the trainer accepts it without edits: it stops at the next check, not at "unknown task"
        with pytest.raises(TrainingError, match="--output-dir is required"):
            Finetuner(FinetuneOptions(task="topic_test"))
        with pytest.raises(TrainingError, match="unknown task 'topic_tset'"):
            Finetuner(FinetuneOptions(task="topic_tset"))
    finally:
        tasks.unregister("topic_test")
    assert "topic_test" not in tasks.names()
