"""One-edit rewrites of a question: the same meaning, or one key thing changed.

Each edit maps a real question to an edited copy, or ``None`` where the edit does not apply. They
serve two sides that must stay apart in the data they see:

* evaluation — :mod:`albert_edge.behaviour` edits LCQMC *dev* questions into behaviour cases;
* training — :func:`albert_edge.data.pair_augment.edited_pairs` edits *training* questions into
  labelled pairs (``finetune --edited-pairs``), as CheckList-style invariance / directional data.

``MEANING_KEPT`` edits produce a pair with the same meaning (label 1), ``MEANING_CHANGED`` edits one
that differs (label 0). Substitution tables hold only words whose replacement keeps the sentence
grammatical in nearly every context (so 小米 — also millet — and single characters like 猫 in 熊猫
are left out).
"""
from __future__ import annotations

import re
from typing import Callable, Dict, Iterable, Iterator, Sequence, Tuple

Edit = Callable[[str, int], "str | None"]   # (question, index for a deterministic variant) -> edited

FINAL_PUNCT = "？?。！!，,.～~ "
_PARTICLE_SWAP = {"吗": "么", "么": "嘛", "嘛": "吗"}
_WH_WORDS = ("什么", "怎么", "哪", "为什么", "如何", "多少", "谁")
_SYNONYMS = {"为什么": "为何", "什么时候": "何时", "哪里": "哪儿", "怎样": "如何", "如何": "怎样",
             "能不能": "能否", "是不是": "是否"}
_PLACES = ("北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "重庆", "天津", "西安",
           "长沙", "苏州", "郑州", "青岛", "厦门", "济南", "沈阳", "日本", "韩国", "美国", "英国")
_TIMES = {"今天": "明天", "明天": "今天", "昨天": "今天", "早上": "晚上", "晚上": "早上",
          "上午": "下午", "下午": "上午", "今年": "明年", "去年": "今年", "明年": "今年",
          "夏天": "冬天", "冬天": "夏天", "春天": "秋天", "秋天": "春天", "周末": "周一",
          "星期一": "星期五", "周一": "周五"}
_ENTITIES = {"微信": "支付宝", "支付宝": "微信", "淘宝": "京东", "京东": "淘宝", "华为": "三星",
             "三星": "华为", "英语": "日语", "日语": "英语", "语文": "数学", "数学": "语文",
             "爸爸": "妈妈", "妈妈": "爸爸", "百度": "谷歌", "电脑": "电视"}
_ANTONYMS = {"男生": "女生", "女生": "男生", "男朋友": "女朋友", "女朋友": "男朋友", "男人": "女人",
             "女人": "男人", "最贵": "最便宜", "最便宜": "最贵", "上涨": "下跌",
             "增加": "减少", "减少": "增加", "提高": "降低", "降低": "提高", "变胖": "变瘦",
             "长胖": "变瘦", "开机": "关机", "关机": "开机", "成功": "失败", "失败": "成功"}
# a pronoun subject + modal or verb of liking: inserting 不 negates the clause and stays natural
_NEGATABLE = re.compile(r"(我|你|他|她)(能|可以|喜欢|想|会)(?![力量源耗否])")


def _core(s: str) -> Tuple[str, str]:
    """(sentence without trailing punctuation, that punctuation)."""
    core = s.rstrip(FINAL_PUNCT)
    return core, s[len(core):]


def _replace_one(s: str, table: Dict[str, str], exclude: Iterable[str] = ()) -> str | None:
    """Replace the first table word found (longest first) when it occurs exactly once and its
    replacement does not already occur, so the edit changes exactly one thing."""
    for word in sorted(table, key=len, reverse=True):
        if s.count(word) == 1 and table[word] not in s and not any(x in s for x in exclude):
            return s.replace(word, table[word])
    return None


def edit_identity(s: str, i: int) -> str | None:
    return s


def edit_punctuation(s: str, i: int) -> str | None:
    core, tail = _core(s)
    if len(core) < 4:
        return None
    options = [v for v in (core, core + "？", core + "。", core + "！", core + "??") if v != s]
    return options[i % len(options)]


def edit_width_space(s: str, i: int) -> str | None:
    swapped = s.translate(str.maketrans("？，！?,!", "?,!？，！"))
    if swapped != s:
        return swapped
    core, tail = _core(s)
    if len(core) < 6:
        return None
    mid = len(core) // 2
    return core[:mid] + " " + core[mid:] + tail


def edit_particles(s: str, i: int) -> str | None:
    core, tail = _core(s)
    if core and core[-1] in _PARTICLE_SWAP:
        return core[:-1] + _PARTICLE_SWAP[core[-1]] + tail
    if core and core[-1] not in "呢啊吧了" and any(w in core for w in _WH_WORDS):
        return core + ("呢", "啊")[i % 2] + tail
    return None


def edit_fillers(s: str, i: int) -> str | None:
    if s.startswith(("请问", "你好", "谁")) or len(s) < 4:
        return None
    return ("请问", "请问一下，", "你好，请问")[i % 3] + s


def edit_word_order(s: str, i: int) -> str | None:
    # "context，question？" -> "question，context？": only when the question is the second clause,
    # so the move reads as spoken Chinese and the clauses do not depend on their order
    core, tail = _core(s)
    parts = re.split("[，,]", core)
    if (len(parts) != 2 or min(len(p) for p in parts) < 4
            or any(w in parts[0] for w in _WH_WORDS) or not any(w in parts[1] for w in _WH_WORDS)
            or any(w in core for w in ("所以", "然后", "于是", "之后", "以后", "再", "就", "才", "但"))):
        return None
    return parts[1] + "，" + parts[0] + tail


def edit_synonyms(s: str, i: int) -> str | None:
    return _replace_one(s, _SYNONYMS, exclude=("为何", "何时", "哪儿", "能否", "是否"))


def edit_entity(s: str, i: int) -> str | None:
    return _replace_one(s, _ENTITIES)


def edit_number(s: str, i: int) -> str | None:
    runs = re.findall(r"\d+", s)
    if len(runs) != 1 or len(runs[0]) > 4:   # long runs are ids (QQ, phone numbers), not quantities
        return None
    old = runs[0]
    new = old[:-1] + str((int(old[-1]) + 3) % 10)
    return s.replace(old, new)


def edit_time(s: str, i: int) -> str | None:
    return _replace_one(s, _TIMES)


def edit_place(s: str, i: int) -> str | None:
    found = [p for p in _PLACES if s.count(p) == 1]
    if len(found) != 1:
        return None
    others = [p for p in _PLACES if p not in s]
    return s.replace(found[0], others[(i + len(s)) % len(others)])


def edit_negation(s: str, i: int) -> str | None:
    if "不" in s or "没" in s:
        return None
    match = _NEGATABLE.search(s)
    if not match:
        return None
    return s[:match.start(2)] + "不" + s[match.start(2):]


def edit_antonym(s: str, i: int) -> str | None:
    return _replace_one(s, _ANTONYMS)


MEANING_KEPT: Dict[str, Edit] = {
    "identity": edit_identity, "punctuation": edit_punctuation, "width_space": edit_width_space,
    "particles": edit_particles, "fillers": edit_fillers, "word_order": edit_word_order,
    "synonyms": edit_synonyms,
}
MEANING_CHANGED: Dict[str, Edit] = {
    "entity": edit_entity, "number": edit_number, "time": edit_time, "place": edit_place,
    "negation": edit_negation, "antonym": edit_antonym,
}
EDITS: Dict[str, Edit] = {**MEANING_KEPT, **MEANING_CHANGED}


def apply_edit(name: str, sentence: str, index: int) -> str | None:
    """The edited sentence, or None where the edit does not apply or changes nothing it should."""
    edited = EDITS[name](sentence, index)
    if edited is None or (edited == sentence) != (name == "identity"):
        return None
    return edited


def edited_sentences(sentences: Sequence[str], per_edit: int) -> Iterator[Tuple[str, str, str]]:
    """(edit name, sentence, edited) for up to ``per_edit`` sentences per edit, in the given order."""
    for name in EDITS:
        made = 0
        for i, sentence in enumerate(sentences):
            if made >= per_edit:
                break
            edited = apply_edit(name, sentence, i)
            if edited is not None:
                yield name, sentence, edited
                made += 1
