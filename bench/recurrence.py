"""``rectify bench recurrence``: precision and recall of recurrence detection on written problem pairs.

Every later problem of :mod:`bench.recurrence_pairs` (restatements and look-alikes) is matched against
all earlier problems with :func:`workflow.similarity.best_matches`; a link counts as right when it
names the earlier problem the later one restates. Reported at a range of thresholds and at the one
in use (``workflow.similarity.THRESHOLD``). It measures; it asserts nothing.
"""
from __future__ import annotations

from workflow import similarity

from .recurrence_pairs import NEW, SAME

THRESHOLDS = (0.15, 0.18, 0.2, 0.22, 0.25, 0.3, 0.35)


def evaluate(threshold: float) -> dict:
    earlier = [a for a, _ in SAME]
    later = [b for _, b in SAME] + [b for _, b in NEW]
    truth = list(range(len(SAME))) + [None] * len(NEW)
    links = similarity.best_matches(later, earlier, threshold)
    tp = sum(1 for i, j, _s in links if truth[i] == j)
    fp = len(links) - tp
    return {"threshold": threshold, "links": len(links), "true": tp, "false": fp,
            "precision": round(tp / len(links), 3) if links else 1.0, "recall": round(tp / len(SAME), 3)}


def run(json: bool = False, **_ignored) -> dict:
    rows = [evaluate(t) for t in THRESHOLDS]
    chosen = evaluate(similarity.THRESHOLD)
    return {"pairs": len(SAME) + len(NEW), "restated": len(SAME), "look_alike": len(NEW),
            "threshold": similarity.THRESHOLD, "precision": chosen["precision"], "recall": chosen["recall"],
            "by_threshold": rows}
