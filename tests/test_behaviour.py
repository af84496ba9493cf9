"""The behaviour suite and the one-edit rewrites it shares with training augmentation."""
from __future__ import annotations

import re
import json
from pathlib import Path

import pytest

from albert_edge import behaviour
from albert_edge.data import pair_edits
from albert_edge.data.pair_augment import edited_pairs
from albert_edge.data.tasks import Example
from conftest import assert_printed_score  # noqa: E402  (tests/ is on sys.path under pytest)

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "models" / "albert_tiny_lcqmc"


# --------------------------------------------------------------------------- edits
@pytest.mark.parametrize("name, sentence, expected", [
    ("punctuation", "牛肉怎么做", "牛肉怎么做？"),
    ("width_space", "五万块钱，做什么生意好？", "五万块钱,做什么生意好?"),
    ("particles", "刚拿驾驶证能上高速吗", "刚拿驾驶证能上高速么"),
    ("particles", "牛肉怎么做", "牛肉怎么做呢"),
    ("fillers", "怎么查话费", "请问怎么查话费"),
    ("word_order", "一个女生忽然不理我了，怎么回事？", "怎么回事，一个女生忽然不理我了？"),
    ("synonyms", "为什么海贼王这么好看？", "为何海贼王这么好看？"),
    ("entity", "如何删除淘宝帐号", "如何删除京东帐号"),
    ("number", "5万块钱可以做什么生意？", "8万块钱可以做什么生意？"),
    ("time", "今天有什么好电影？", "明天有什么好电影？"),
    ("negation", "我想去香港打工可以吗？", "我不想去香港打工可以吗？"),
    ("antonym", "什么是女生的秘密", "什么是男生的秘密"),
])
def test_each_edit_rewrites_one_thing(name, sentence, expected):
    assert pair_edits.apply_edit(name, sentence, 0) == expected


@pytest.mark.parametrize("name, sentence", [
    ("number", "QQ513921869被盗了"),             # an id, not a quantity
    ("number", "iphone6和iphone7哪个好"),          # two numbers: changing one is not one edit
    ("negation", "我不想上班"),                    # already negated
    ("entity", "微信和支付宝哪个好"),              # the replacement already occurs
    ("word_order", "我手机丢了，所以想换个手机"),    # clause order carries meaning
    ("place", "从北京到上海多远"),                 # two places
])
def test_edits_refuse_sentences_where_one_edit_is_ambiguous(name, sentence):
    assert pair_edits.apply_edit(name, sentence, 0) is None


def test_place_edit_changes_the_place_only():
    edited = pair_edits.apply_edit("place", "北京有哪些靠谱的印刷厂？", 0)
    assert edited != "北京有哪些靠谱的印刷厂？" and "北京" not in edited
    assert edited.endswith("有哪些靠谱的印刷厂？") and len(edited) == len("北京有哪些靠谱的印刷厂？")


def test_edited_pairs_label_by_meaning_cap_per_edit_and_are_seeded():
    rows = (behaviour.SEED_PAIRS).read_text(encoding="utf-8").splitlines()[:800]
    examples = [Example(*line.split("\t"), where=f"x:{i}") for i, line in enumerate(rows, 1)]
    derived, stats = edited_pairs(examples, per_edit=5, seed=3)
    assert max(stats.values()) <= 5 and set(stats) <= set(pair_edits.EDITS)
    assert stats["identity"] == 5 and stats["punctuation"] == 5
    for ex in derived:
        kind = ex.where.split()[-1]
        assert ex.label == ("1" if kind in pair_edits.MEANING_KEPT else "0")
        assert pair_edits.apply_edit(kind, ex.text_a, 0) is not None
    again, _ = edited_pairs(examples, per_edit=5, seed=3)
    other, _ = edited_pairs(examples, per_edit=5, seed=4)
    assert again == derived and other != derived


# --------------------------------------------------------------------------- suite
def test_suite_is_deterministic_and_covers_every_category():
    cases = behaviour.build_suite()
    assert cases == behaviour.build_suite()
    counts = {name: sum(c.category == name for c in cases) for name in behaviour.CATEGORIES}
    assert min(counts.values()) >= 40, counts
    hand = {c.category for c in cases if c.source == "hand"}
    assert hand == set(behaviour.CATEGORIES)
    # generated cases are edits of LCQMC dev sentences, never of the training split's
    seeds = set(behaviour.seed_sentences())
    assert all(c.a in seeds for c in cases if c.source == "generated")


def test_hand_written_file_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "cases.tsv"
    bad.write_text("# comment\nidentity\t你好\t你好\nsimilarish\t你好\t您好\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"cases\.tsv:3: expected category"):
        behaviour.read_hand_written(bad)


def test_report_passes_by_side_of_one_half_and_measures_asymmetry():
    cases = [behaviour.Case("identity", "你好", "你好", "hand"),
             behaviour.Case("identity", "早上好", "早上好", "generated"),
             behaviour.Case("number", "1加1", "1加2", "hand"),
             behaviour.Case("number", "3个月", "6个月", "generated")]
    # p(same) = 0.9 for identical texts; 0.6 one way and 0.2 the other for the rest
    def score(pairs):
        return [0.9 if a == b else (0.6 if a < b else 0.2) for a, b in pairs]
    report = behaviour.run_suite(score, cases)
    by_name = {r.category: r for r in report.results}
    assert by_name["identity"].rate == 1.0 and by_name["identity"].ok
    assert by_name["identity"].hand_n == 1 and by_name["identity"].hand_passed == 1
    number = by_name["number"]
    assert 0 <= number.passed <= 2 and number.n == 2
    assert report.mean_asymmetry == pytest.approx((0 + 0 + 0.4 + 0.4) / 4)
    assert "symmetry" in report.failed_gates and "number" in report.failed_gates
    assert "entity" in report.failed_gates          # a category without cases cannot pass
    assert not report.ok and report.failures[0][0].category == "number"
    table = report.to_markdown()
    assert "| identity | similar | 2 | 100.0% | ≥ 95% | 1/1 |" in table


def test_symmetry_is_gated_on_real_dev_pairs_too():
    """A model symmetric on the generated cases but not on real pairs fails the symmetry gate."""
    cases = [behaviour.Case("identity", "你好", "你好", "hand")]
    real = behaviour.real_dev_pairs(limit=50)
    assert len(real) == 50 and all(a != b for a, b in real[:5])
    def score(pairs):           # order-blind on identical texts, 0.1 apart on real pairs
        return [0.9 if a == b else (0.6 if a < b else 0.5) for a, b in pairs]
    report = behaviour.run_suite(score, cases, symmetry_pairs=real)
    assert report.mean_asymmetry == 0.0 and report.real_pairs == 50
    assert report.mean_asymmetry_real == pytest.approx(0.1)
    assert "symmetry" in report.failed_gates
    assert "| symmetry, real dev pairs |" in report.to_markdown()
    symmetric = behaviour.run_suite(lambda pairs: [0.9 if a == b else 0.55 for a, b in pairs], cases,
                                    symmetry_pairs=real)
    assert symmetric.mean_asymmetry_real == 0.0 and "symmetry" not in symmetric.failed_gates


def test_a_constant_model_fails_one_side():
    report = behaviour.run_suite(lambda pairs: [0.9] * len(pairs))
    failed = set(report.failed_gates)
    similar = {n for n, c in behaviour.CATEGORIES.items() if c.expected == behaviour.SIMILAR}
    assert failed == set(behaviour.CATEGORIES) - similar
    assert report.mean_asymmetry == 0.0


# --------------------------------------------------------------------------- the shipped model
@pytest.fixture(scope="module")
def bundled():
    from albert_edge.similarity import Similarity
    return Similarity(BUNDLED)


@pytest.mark.slow
def test_bundled_model_meets_every_behaviour_target(capsys):
    """README's `python -m albert_edge.evaluate --model models/albert_tiny_lcqmc --behaviour`, run
    in-process (one pass of the suite, ~3,000 pairs): exit 0 means every category met its target."""
    from albert_edge.evaluate import main
    code = main(["--model", str(BUNDLED), "--behaviour"])
    out = capsys.readouterr().out
    assert "| category | expected | n | pass rate |" in out
    assert code == 0, out[-3000:]
    report = json.loads(out.strip().splitlines()[-1])["behaviour"]
    assert all(row["ok"] for row in report["categories"].values()), out[-3000:]


# `python -m albert_edge.similarity … "A" "B"` lines of README.md, with the output documented under them
# (the bundled checkpoint is the CLI's default model; the printed line follows the command)
README_EXAMPLE = re.compile(r'python -m albert_edge\.similarity "([^"]+)" "([^"]+)"\n(\d\.\d+)')
SIMILARITY_DOCSTRING = re.compile(r'predict_sentences\(\[\("([^"]+)", "([^"]+)"\)\]\)[^\n]*\n\s+\[(\d\.\d+)\]')


def _check_shown(bundled, examples, where):
    scores = bundled.predict_sentences([(a, b) for a, b, _ in examples])
    for (a, b, shown), score in zip(examples, scores):
        assert_printed_score(score, shown, f"{where} ({a} / {b})")


def test_readme_similarity_examples_are_what_the_bundled_model_prints(bundled):
    examples = README_EXAMPLE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(examples) >= 3, "README lost its similarity examples"
    _check_shown(bundled, examples, "README.md")
    import albert_edge.similarity
    doc = SIMILARITY_DOCSTRING.findall(albert_edge.similarity.__doc__)
    assert doc, "the similarity docstring lost its example"
    _check_shown(bundled, doc, "albert_edge/similarity.py's docstring")
    # albert_zh's own demo pair is judged similar
    assert bundled.predict_sentences([("我喜欢妈妈做的汤", "妈妈做的汤我很喜欢喝")])[0] > 0.5


