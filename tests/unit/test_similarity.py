"""Recurrence detection on Chinese problem statements: restatements found, look-alikes not."""
from __future__ import annotations

from bench import recurrence
from workflow import similarity


def test_a_restated_problem_scores_far_above_an_unrelated_one():
    a = "将救助资金用于支付桥梁检测费，超范围使用资金。"
    same = "救助资金被挪用于桥梁检测，存在超范围使用专项资金问题。"
    other = "低保对象动态管理不到位，已死亡人员仍领取低保。"
    corpus = similarity.Corpus([a, same, other])
    va, vs, vo = corpus.vectors
    assert similarity.cosine(va, vs) > similarity.THRESHOLD > similarity.cosine(va, vo)


def test_punctuation_width_digits_and_spacing_do_not_change_the_features():
    assert similarity.features("问题1：学习不主动。") == similarity.features("问题 2:学习不主动.")


def test_on_the_written_pairs_the_chosen_threshold_keeps_precision_and_recall_high():
    got = recurrence.evaluate(similarity.THRESHOLD)
    assert got["recall"] >= 0.95 and got["precision"] >= 0.9, got


def test_nothing_is_linked_when_either_side_is_empty():
    assert similarity.best_matches([], ["x"]) == [] and similarity.best_matches(["x"], []) == []
