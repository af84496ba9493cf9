"""Label-preserving augmentation of sentence-pair training sets (paraphrase / same-question tasks).

Both functions rely only on the relation being an equivalence ("same meaning"), which is what
LCQMC, AFQMC, BQ and PAWS-X label:

* :func:`swapped_pairs` — symmetry: (a, b, y) gives (b, a, y).
* :func:`transitive_pairs` — transitivity: LCQMC was built by pairing questions of one Baidu Zhidao
  search, so a question often occurs in several pairs. If a ≡ b and b ≡ c then a ≡ c; if a ≡ b and
  b ≢ c then a ≢ c. The negatives found this way are *hard* ones (c was retrieved for b's words),
  exactly the kind the task is about.

* :func:`edited_pairs` — one-edit rewrites (:mod:`albert_edge.data.pair_edits`) of the training
  sentences: a question and itself with "？" added or 请问 in front means the same; with one city,
  app, number or time swapped, or negated, it does not. LCQMC teaches neither directly: a model
  fine-tuned on it alone judged a question and the same question with "？" appended different.

Sentences are matched by their exact text. Nothing here looks at an evaluation file.
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
import random
from collections import Counter, defaultdict
from typing import Dict, List, Sequence, Tuple

from albert_edge.data.pair_edits import MEANING_KEPT, edited_sentences
from albert_edge.data.tasks import DataError, Example

logger = logging.getLogger(__name__)


def swapped_pairs(examples: Sequence[Example]) -> List[Example]:
    """(b, a, label) for every (a, b, label): the classifier cannot lean on which sentence is first."""
    return [dataclasses.replace(ex, text_a=ex.text_b, text_b=ex.text_a, where=f"{ex.where} (swapped)")
            for ex in examples if ex.text_b is not None]


class _Clusters:
    """Union-find over sentences: one cluster per set of sentences joined by positive pairs."""

    def __init__(self) -> None:
        self.parent: Dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:             # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # deterministic root: the smaller text

    def members(self) -> Dict[str, List[str]]:
        groups: Dict[str, List[str]] = defaultdict(list)
        for sentence in sorted(self.parent):
            groups[self.find(sentence)].append(sentence)
        return groups


def transitive_pairs(examples: Sequence[Example], positive: str = "1", negative: str = "0",
                     max_per_edge: int = 16) -> Tuple[List[Example], dict]:
    """New pairs implied by transitivity, and counts of what was derived and skipped.

    * positives: every two sentences of one positive cluster not already paired;
    * negatives: for each labelled negative (a, c), every (x, z) with x in a's cluster and z in c's,
      at most ``max_per_edge`` per negative (big clusters would otherwise dominate the set).

    A cluster that also holds a labelled negative contradicts itself (annotation noise): nothing is
    derived from it. Each derived example's ``where`` names the file:line of the pairs it came from.
    """
    labels = {ex.label for ex in examples}
    if not labels <= {positive, negative}:
        raise DataError(f"transitive pairs need binary labels {positive!r} (same) / {negative!r} (different); "
                        f"found {sorted(labels)} — e.g. {next(ex.where for ex in examples if ex.label not in (positive, negative))}")
    clusters = _Clusters()
    source: Dict[frozenset, str] = {}
    for ex in examples:
        if ex.text_b is None:
            raise DataError(f"{ex.where}: transitive pairs need sentence pairs, this example has one text")
        clusters.find(ex.text_a)
        clusters.find(ex.text_b)
        if ex.label == positive:
            clusters.union(ex.text_a, ex.text_b)
        source.setdefault(frozenset((ex.text_a, ex.text_b)), ex.where)
    groups = clusters.members()
    contradicted = {clusters.find(ex.text_a) for ex in examples
                    if ex.label == negative and clusters.find(ex.text_a) == clusters.find(ex.text_b)}

    derived: List[Example] = []
    seen = set(source)
    for root, members in groups.items():
        if root in contradicted or len(members) < 3:
            continue
        origin = f"positive cluster of {_source_of(source, members)}"
        for a, b in itertools.combinations(members, 2):
            key = frozenset((a, b))
            if key not in seen:
                seen.add(key)
                derived.append(Example(a, b, positive, origin))
    num_positive = len(derived)
    for ex in examples:
        if ex.label != negative:
            continue
        ra, rc = clusters.find(ex.text_a), clusters.find(ex.text_b)
        if ra == rc or ra in contradicted or rc in contradicted:
            continue
        added = 0
        for x, z in itertools.product(groups[ra], groups[rc]):
            key = frozenset((x, z))
            if key in seen:
                continue
            if added >= max_per_edge:
                break
            seen.add(key)
            derived.append(Example(x, z, negative, f"negative {ex.where} across clusters"))
            added += 1
    stats = {"positive": num_positive, "negative": len(derived) - num_positive,
             "contradicted_clusters": len(contradicted)}
    logger.info("transitive pairs: %d positive + %d negative derived from %d labelled; "
                "%d self-contradicting clusters skipped", stats["positive"], stats["negative"],
                len(examples), stats["contradicted_clusters"])
    return derived, stats


def _source_of(source: Dict[frozenset, str], members: Sequence[str]) -> str:
    """The file:line of one labelled pair inside a cluster (for error messages and provenance)."""
    for a, b in itertools.combinations(members, 2):
        where = source.get(frozenset((a, b)))
        if where:
            return where
    return "?"


def edited_pairs(examples: Sequence[Example], per_edit: int, seed: int = 0,
                 positive: str = "1", negative: str = "0") -> Tuple[List[Example], dict]:
    """Up to ``per_edit`` (sentence, edited sentence) pairs per edit kind, from the training sentences.

    Meaning-kept edits are labelled ``positive``, meaning-changed ones ``negative``. Sentences are
    taken in a seeded shuffle, so each kind draws from the whole file, not its first lines.
    """
    if per_edit < 0:
        raise DataError(f"edited pairs: the count per edit must be >= 0, got {per_edit}")
    sentences = sorted({t for ex in examples for t in (ex.text_a, ex.text_b) if t})
    random.Random(seed).shuffle(sentences)
    derived = [Example(sentence, edited, positive if name in MEANING_KEPT else negative, f"edit {name}")
               for name, sentence, edited in edited_sentences(sentences, per_edit)]
    stats = dict(Counter(ex.where.split()[-1] for ex in derived))
    logger.info("edited pairs: %d from %d training sentences: %s", len(derived), len(sentences), stats)
    return derived, stats
