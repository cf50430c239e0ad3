"""The matching rules applied one order at a time, in process: the same ``order_sync.matching``
decisions the services make, over an in-memory identity index, with no broker, no database
and no concurrency. It is the reference the services' figures are read against (what full
speed and several workers cost in precision and recall), and a fast loop for tuning.

    python -m bench.matching.simulate --orders 10000
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from typing import Any

from order_sync.identity import identity_of
from order_sync.matching import (
    Profile,
    Thresholds,
    decide,
    housemate_keys,
    housemates,
    index_keys,
    score,
    stranger_at_the_mailbox,
    without_common,
)
from order_sync.store import IDENTIFIER_CAP, STRANGERS_AT_A_MAILBOX

from .score import Outcome
from .score import score as score_outcome
from .stream import Stream, generate


def simulate(stream: Stream, thresholds: Thresholds | None = None) -> tuple[dict[str, Outcome], dict[str, list[str]]]:
    thresholds = thresholds or Thresholds()
    country = {scope_id: c for scope_id, c, _ in stream.scopes}
    index: dict[str, set[str]] = defaultdict(set)
    profiles: dict[str, Profile] = {}
    scope_of: dict[str, str] = {}
    links: dict[str, str] = {}
    outcome: dict[str, Outcome] = {}
    reviews: dict[str, list[str]] = {}
    merged_into: dict[str, str] = {}
    orders_of: dict[str, list[str]] = defaultdict(list)
    strangers: dict[str, set[str]] = defaultdict(set)  # as store.note_strangers keeps them

    def survivor(code: str) -> str:
        while code in merged_into:
            code = merged_into[code]
        return code

    for delivery in stream.deliveries:
        order = delivery.message.payload
        if delivery.order_key in outcome:
            continue  # a re-delivery
        identity = identity_of(order, country[order.scope])
        keys = [f"{order.scope}|{k}" for k in identity.blocking_keys()]
        common = {
            k.split("|", 1)[1]
            for k in keys
            if len(index.get(k, ())) >= IDENTIFIER_CAP or len(strangers.get(k, ())) >= STRANGERS_AT_A_MAILBOX
        }
        identity = without_common(identity, common)
        found = sorted({survivor(c) for k in keys if k.split("|", 1)[1] not in common for c in index.get(k, ())})
        linked = links.get(identity.source_link) if identity.source_link else None
        if linked is not None:
            linked = survivor(linked)
            if scope_of[linked] != order.scope:
                linked = None
        decision = decide(identity, linked, [score(identity, profiles[c]) for c in found], thresholds)
        if household := housemate_keys(decision):  # as order-sync's second look (intake._decide)
            scoped = [f"{order.scope}|{k}" for k in household]
            neighbours = {
                survivor(c) for k in scoped if len(index.get(k, ())) < IDENTIFIER_CAP for c in index.get(k, ())
            }
            decision = housemates(identity, decision, [profiles[c] for c in sorted(neighbours)])
        code = decision.customer_code
        if decision.kind == "create":
            code = f"N{len(profiles) + 1}"
            profiles[code] = Profile(code)
            scope_of[code] = order.scope
        if stranger_at_the_mailbox(identity, decision) and identity.last_key:
            strangers[f"{order.scope}|em:{identity.email_canon}"].add(identity.last_key)
        if decision.kind == "review":
            review_id = f"R{len(reviews) + 1}"
            reviews[review_id] = [c.code for c in decision.candidates]
            outcome[delivery.order_key] = Outcome(None, review_id)
            continue
        if code is None:
            outcome[delivery.order_key] = Outcome(None, None)
            continue
        outcome[delivery.order_key] = Outcome(code, None)
        orders_of[code].append(delivery.order_key)
        for duplicate in decision.duplicates:  # as the customer service's merge does (C13)
            merged_into[duplicate] = code
            profiles[code].add(_learned(profiles[duplicate]))
            for key in orders_of.pop(duplicate, []):
                outcome[key] = Outcome(code, None)
                orders_of[code].append(key)
        profile = profiles.setdefault(code, Profile(code))
        if profile.lesson(identity.learned()) is not None:
            for key in index_keys(profile):
                index[f"{order.scope}|{key}"].add(code)
        if identity.source_link:
            links.setdefault(identity.source_link, code)
    return outcome, reviews


def _learned(profile: Profile) -> dict[str, list[Any]]:
    return {
        "emails": list(profile.emails),
        "phones": list(profile.phones),
        "names": list(profile.names),
        "scripted_names": list(profile.scripted_names),
        "postals": list(profile.postals),
        "streets": list(profile.streets),
        "sources": list(profile.sources),
        "taught": list(profile.taught),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    stream = generate(args.orders, seed=args.seed)
    started = time.perf_counter()
    outcome, reviews = simulate(stream)
    figures: dict[str, Any] = score_outcome(stream, outcome, reviews)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
