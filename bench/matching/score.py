"""Scoring an identity resolution against the stream's ground truth (pure, no I/O).

Pairwise figures, as record linkage counts them: a pair is two orders; a *true* pair is two
orders of one person (overall) or of one person in one scope (within scope: the same person
in two scopes is two customers by design, C2); a *predicted* pair is two orders on one
customer. Precision = true predicted pairs / predicted pairs; recall = true predicted pairs /
true pairs. An order in review (or missing) is a customer of its own: it links nothing. The
counts come from contingency cells (n(n-1)/2 per cell), never by listing pairs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from .stream import Stream


@dataclass(frozen=True)
class Outcome:
    """What the services did with one order."""

    customer_code: str | None
    review_id: str | None


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(truth: dict[str, Hashable], predicted: dict[str, Hashable]) -> dict[str, float | int]:
    """Precision and recall of ``predicted`` clusters against ``truth`` clusters, over the
    orders of ``truth``."""
    true_pairs = sum(_pairs(n) for n in Counter(truth.values()).values())
    predicted_pairs = sum(_pairs(n) for n in Counter(predicted[k] for k in truth).values())
    both = sum(_pairs(n) for n in Counter((truth[k], predicted[k]) for k in truth).values())
    return {
        "precision": round(both / predicted_pairs, 5) if predicted_pairs else 1.0,
        "recall": round(both / true_pairs, 5) if true_pairs else 1.0,
        "true_pairs": true_pairs,
        "predicted_pairs": predicted_pairs,
        "correct_pairs": both,
    }


def score(stream: Stream, outcome: dict[str, Outcome], reviews: dict[str, list[str]] | None = None) -> dict[str, Any]:
    reviews = reviews or {}
    keys = list(stream.truth)
    linked = {k for k in keys if (o := outcome.get(k)) is not None and o.customer_code}
    in_review = {k for k in keys if k not in linked and (o := outcome.get(k)) is not None and o.review_id}
    missing = [k for k in keys if k not in linked and k not in in_review]
    # Orders not on a customer are customers of their own.
    predicted = {k: outcome[k].customer_code if k in linked else ("alone", k) for k in keys}
    entity = {k: (stream.truth[k], stream.scope_of[k]) for k in keys}

    overall = pairwise(stream.truth, predicted)
    within = pairwise(entity, predicted)
    decidable = [k for k in keys if k not in stream.undecidable]
    within_decidable = pairwise({k: entity[k] for k in decidable}, predicted)
    # The most recall within scope can reach while the undecidable orders wait in review (the
    # O5 goal): every decidable order on its person's customer, every undecidable one alone.
    # The recall goal (0.98 within scope) is read beside it: with ~3% of orders undecidable,
    # many of them frequent shoppers' cash sales, it is 0.89-0.95 on the 10,000-order streams.
    ceiling = pairwise(entity, {k: ("alone", k) if k in stream.undecidable else entity[k] for k in keys})

    customers_of: dict[Hashable, set[str]] = defaultdict(set)
    entities_of: dict[str, set[Hashable]] = defaultdict(set)
    for k in linked:
        customers_of[entity[k]].add(outcome[k].customer_code)
        entities_of[outcome[k].customer_code].add(entity[k])
    split = [e for e, codes in customers_of.items() if len(codes) > 1]
    merged = {code: es for code, es in entities_of.items() if len(es) > 1}
    household_merges = sum(1 for es in merged.values() if _one_household(stream, (p for p, _ in es)))

    review_of = {outcome[k].review_id: k for k in in_review}
    unnecessary = sum(1 for review_id, k in review_of.items() if k not in stream.undecidable)
    duplicates_only = sum(
        1
        for review_id, candidates in reviews.items()
        if len(candidates) > 1
        and len({frozenset(entities_of.get(c, ())) for c in candidates}) == 1
        and len(entities_of.get(candidates[0], ())) == 1
    )
    undecidable = [k for k in keys if k in stream.undecidable]
    undecidable_reviewed = sum(1 for k in undecidable if k in in_review)
    with_candidate = [k for k in undecidable if k in stream.undecidable_with_candidate]
    with_candidate_reviewed = sum(1 for k in with_candidate if k in in_review)

    return {
        "orders": len(keys),
        "linked": len(linked),
        "in_review": len(in_review),
        "missing": len(missing),
        "precision": overall["precision"],
        "recall": overall["recall"],
        "precision_within_scope": within["precision"],
        "recall_within_scope": within["recall"],
        "recall_within_scope_decidable": within_decidable["recall"],
        "recall_within_scope_ceiling": ceiling["recall"],
        "precision_within_scope_decidable": within_decidable["precision"],
        "pairs_within_scope": {k: within[k] for k in ("true_pairs", "predicted_pairs", "correct_pairs")},
        "people_in_scope": len(set(entity.values())),
        "customers": len(entities_of),
        "people_split": len(split),
        "customers_per_person": round(sum(len(c) for c in customers_of.values()) / len(customers_of), 4)
        if customers_of
        else None,
        "false_merges": len(merged),
        "orders_on_false_merges": sum(1 for k in linked if outcome[k].customer_code in merged),
        "household_false_merges": household_merges,
        "undecidable": len(undecidable),
        "undecidable_in_review": undecidable_reviewed,
        "undecidable_in_review_share": round(undecidable_reviewed / len(undecidable), 4) if undecidable else None,
        "undecidable_with_candidate": len(with_candidate),
        "undecidable_with_candidate_in_review_share": round(with_candidate_reviewed / len(with_candidate), 4)
        if with_candidate
        else None,
        "reviews": len(review_of),
        "unnecessary_reviews": unnecessary,
        "unnecessary_review_share": round(unnecessary / len(review_of), 4) if review_of else None,
        "reviews_of_duplicate_records": duplicates_only,
    }


def _one_household(stream: Stream, people: Iterable[str]) -> bool:
    households = [stream.households.get(p) for p in people]
    return all(h is not None for h in households) and len(set(households)) == 1
