"""Orders arriving (O1-O6): each ``OrderPlaced`` is matched (``matching``) against the
customers this service knows, through the identity index: linked, sent to review, or given a
new customer created through the customer service. Every link teaches the customer's profile
what the order showed (its email, phone, names, address, source id), so the person's later
orders find it by any of them.

Orders are taken in batches (plumbing.batching): the handlers of the orders that arrive
together submit them, and one batch looks up the known links, the identifiers and the
candidate customers of all of them in one query each, and stores the orders of known
customers, their links, what their profiles learned and their events in one transaction.
The orders that need a new customer go on to a second batch step. There the orders of one
new person are clustered (O6) and each cluster *claims* its identifiers (source id, email,
phone with name) in one transaction: a cluster whose identifier another one claimed a moment
before, in this batch, another batch or on another worker, takes that one's creation key,
so both end on one customer. One ``CreateCustomers`` asks for the customers of all clusters.
Every order keeps its own outcome: one that fails (an unknown scope, a customer the customer
service refuses) fails alone, and if a batch's transaction cannot commit, each of its orders
is stored on its own.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any

from pydantic import ValidationError
from pymongo import UpdateOne

from contracts.customer.merges import MergeCustomers
from contracts.customer.records import CreateCustomer, CreateCustomers, FindAccountsByEmail, GetCustomer, NewCustomer
from contracts.envelope import Envelope
from contracts.order_sync.linking import (
    OrderChanged,
    OrderChangedPayload,
    OrderLinked,
    OrderLinkedPayload,
    OrderReviewOpened,
    ReviewOpenedPayload,
)
from contracts.replies import field_errors_from_pydantic
from contracts.upstream.orders import Order, OrderPlaced
from plumbing.batching import Batcher, Pending
from plumbing.errors import Rejected, refusal
from plumbing.runtime import Injected, ServiceRuntime
from plumbing.unit_of_work import UnitOfWork, apply_once

from . import store
from .domain import CustomerEntry, content_hash, new_customer, number_keys, order_key, summary
from .identity import Identity, Rule, identity_of
from .matching import (
    Decision,
    Profile,
    Thresholds,
    decide,
    housemate_keys,
    housemates,
    score,
    stranger_at_the_mailbox,
    two_people,
    without_common,
)
from .order_events import replay_parked
from .resources import CustomerService, now
from .settings import thresholds

log = logging.getLogger("oms.order-sync.intake")

#: Orders stored in one transaction at most (a batch is what arrived together, at most the
#: prefetch count of the subscriber), and batches under way at once.
MAX_BATCH = 64
BATCHES_IN_FLIGHT = 2


async def order_placed(message: OrderPlaced, intake: IntakeOf) -> None:
    arrival = await intake.matching.submit(message)
    if arrival.decision.kind == "create":
        # A round trip to the customer service: the orders of known customers that arrived
        # with this one are stored, and acknowledged, meanwhile.
        await intake.creating.submit(arrival)


@dataclass
class Intake:
    """The two batch steps of an order: matched (and stored, for a known customer); stored
    once its new customer is created."""

    matching: Batcher[OrderPlaced, Arrival]
    creating: Batcher[Arrival, Arrival]


#: The order handler declares ``intake: IntakeOf``.
IntakeOf = Annotated[Intake, Injected("intake")]


def create_intake(runtime: ServiceRuntime, customers: CustomerService) -> Intake:
    """The worker's intake (built once by ``app.py``)."""
    # One transaction at a time stores this worker's orders, while the next batch is decided
    # beside it. Two side by side link orders of one customer (a regular's orders reach both)
    # and both count them on its entry (store.link_targets): a write conflict, and one of
    # them aborts and retries. On a 10,000-order stream, 181 of 612 transactions aborted so;
    # 16 with this, those against customer events and merges, which must conflict.
    recording = asyncio.Lock()
    return Intake(
        matching=runtime.batcher(
            "orders-matched",
            lambda batch: _match_and_store(runtime, customers, batch, recording),
            max_size=MAX_BATCH,
            max_in_flight=BATCHES_IN_FLIGHT,
        ),
        creating=runtime.batcher(
            "orders-new-customers",
            lambda batch: _create_and_store(runtime, customers, batch, recording),
            max_size=MAX_BATCH,
            # One at a time: each batch decides its orders again after the customers of the
            # one before are stored, as one order at a time would. Two side by side made a
            # second customer of a person whose identifiers no claim ties (a cash sale's name
            # and postal code, then their phone without a given name): 10 more unnecessary
            # reviews and 0.006 less recall on a 10,000-order stream.
            max_in_flight=1,
        ),
    )


@dataclass
class Arrival:
    """One order of a batch on its way: what it says, what was decided, how it ended."""

    message: OrderPlaced
    #: Set by ``_identify`` and ``_decide``; read through ``identity`` and ``decision``, which
    #: every step after those two may take as given.
    identified: Identity | None = None
    decided: Decision | None = None
    #: The customer document of the decision's customer as read (or created): what its
    #: profile held before this order, so that only what is new is written.
    known: dict[str, Any] | None = None
    #: Versions of the candidates' records as read: what a merge of duplicates expects (C13).
    versions: dict[str, int] = field(default_factory=dict)
    #: Every customer the decision weighed (their merged records' codes too), shown or not.
    weighed: set[str] = field(default_factory=set)
    failure: BaseException | None = None  # raised by this order's handler
    replay: bool = False  # events may be parked for it

    @property
    def identity(self) -> Identity:
        assert self.identified is not None, "an order is identified before anything else"
        return self.identified

    @identity.setter
    def identity(self, identity: Identity) -> None:
        self.identified = identity

    @property
    def decision(self) -> Decision:
        assert self.decided is not None, "an order is decided before it is stored"
        return self.decided

    @decision.setter
    def decision(self, decision: Decision) -> None:
        self.decided = decision

    @property
    def order(self) -> Order:
        return self.message.payload

    @property
    def key(self) -> str:
        return order_key(self.order.source_system, self.order.order_number)

    @property
    def source_link(self) -> str | None:
        """C13: which source customer the order came under (also O2's first rule)."""
        order = self.order
        return f"{order.source_system}|{order.source_customer_id}" if order.source_customer_id else None


async def _match_and_store(
    runtime: ServiceRuntime,
    customers: CustomerService,
    batch: list[Pending[OrderPlaced, Arrival]],
    recording: asyncio.Lock,
) -> None:
    arrivals = [Arrival(pending.item) for pending in batch]
    await _identify(customers, arrivals)
    await _decide(runtime, [a for a in arrivals if a.failure is None])
    known: list[tuple[Pending[Any, Arrival], Arrival]] = []
    for pending, arrival in zip(batch, arrivals, strict=True):
        if arrival.failure is not None:
            pending.fail(arrival.failure)
        elif arrival.decision.kind == "create":
            pending.resolve(arrival)  # its handler creates the customer, then stores it
        else:
            known.append((pending, arrival))
    await _store_settling(runtime, customers, known, recording)
    await _merge_duplicates(customers, [a for _, a in known if a.failure is None])


async def _create_and_store(
    runtime: ServiceRuntime,
    customers: CustomerService,
    batch: list[Pending[Arrival, Arrival]],
    recording: asyncio.Lock,
) -> None:
    waiting = batch
    while waiting:
        arrivals = [pending.item for pending in waiting]
        # Decided again, now: a customer created for the same person a moment ago (by an order
        # in flight beside this one, here or on another worker) is found by its identifiers.
        await _decide(runtime, arrivals)
        now, later = after_their_neighbours(
            cluster([a for a in arrivals if a.decision.kind == "create"]), thresholds(runtime)
        )
        deferred = {id(a) for c in later for a in c.arrivals}
        await _create_customers(runtime, customers, [a for c in now for a in c.arrivals])
        going = [(p, a) for p, a in zip(waiting, arrivals, strict=True) if id(a) not in deferred]
        for pending, arrival in going:
            if arrival.failure is not None:
                pending.fail(arrival.failure)
        await _store_settling(runtime, customers, [(p, a) for p, a in going if a.failure is None], recording)
        await _merge_duplicates(customers, [a for _, a in going if a.failure is None])
        waiting = [p for p, a in zip(waiting, arrivals, strict=True) if id(a) in deferred]


def after_their_neighbours(
    clusters: list[Cluster], limits: Thresholds | None = None
) -> tuple[list[Cluster], list[Cluster]]:
    """The new people of a batch to create now, and those to decide again once these are
    stored. A cluster that shares no claim with one before it in the batch, but whose order
    would not make a new customer were that one stored (one order at a time: a cash sale by
    'P. Laneau' beside a web order of 'Pierre Laneau' at the same postal code waits for a
    CSR), is decided after that customer exists, and goes to review (O5) or links instead of
    making a second record. On a 100,000-order stream, 23 undecidable orders were created
    alone so, where one order at a time reviewed them. Sharing a key is not enough: a shop's
    own phone and address on every order of a burst of new buyers made one round per buyer
    (149 orders/s instead of 437 in bench.order_sync). The clusters that tell the most of
    their person come first, whatever order they reached the batch in: the cash sale decided
    a moment before the web order beside it (in another matching batch) still waits for
    his customer (a fresh-clone CI, 2026-12-06, made the sale a customer of its own)."""
    limits = limits or Thresholds()
    now: list[Cluster] = []
    later: list[Cluster] = []
    seen: list[tuple[set[str], Profile]] = []
    for c in sorted(clusters, key=lambda c: _telling(c.lead), reverse=True):
        keys = {store.scoped(a.order.scope, k) for a in c.arrivals for k in a.identity.blocking_keys()}
        neighbours = [profile for their_keys, profile in seen if keys & their_keys]
        waits = bool(neighbours) and any(
            decide(a.identity, None, [score(a.identity, p) for p in neighbours], limits).kind in ("link", "review")
            for a in c.arrivals
        )
        (later if waits else now).append(c)
        profile = Profile(c.lead.key)
        for a in c.arrivals:
            profile.add(a.identity.learned())
        seen.append((keys, profile))
    return now, later


async def _merge_duplicates(customers: CustomerService, arrivals: list[Arrival]) -> None:
    """An order that showed two records to be one person's (matching.Decision.duplicates)
    asks the customer service to merge them (C13): the merge moves the duplicate's orders
    and addresses, and a CSR can undo it within the merge window. After the orders are
    stored and acknowledged; a merge that fails (a record changed meanwhile) is left to the
    next order that shows the same."""
    asked: set[str] = set()
    for arrival in arrivals:
        decision = arrival.decided
        if decision is None or decision.kind != "link" or not decision.duplicates:
            continue
        survivor = decision.customer_code
        for duplicate in decision.duplicates:
            if (
                duplicate in asked
                or survivor in asked
                or duplicate not in arrival.versions
                or survivor not in arrival.versions
            ):
                continue
            asked |= {duplicate, survivor}
            try:
                reply = await customers.clients.call(
                    MergeCustomers,
                    {
                        "survivor_code": survivor,
                        "survivor_version": arrival.versions[survivor],
                        "merged_code": duplicate,
                        "merged_version": arrival.versions[duplicate],
                        "reason": f"order {arrival.order.order_number} ({arrival.order.source_system}) shows both to be "
                        f"one person: {', '.join(e.comparison for e in decision.evidence if e.weight > 0)}",
                    },
                )
            except Exception:  # noqa: BLE001 - the orders are stored; the merge can wait
                log.warning("merging %s into %s failed", duplicate, survivor, exc_info=True)
                continue
            if not reply.ok:
                log.info("not merging %s into %s: %s", duplicate, survivor, reply.error.message)


# --- new customers (O3, O6) -------------------------------------------------------------------------


@dataclass
class Cluster:
    """Orders of one new person: they make one customer."""

    arrivals: list[Arrival] = field(default_factory=list)
    claims: dict[str, Rule] = field(default_factory=dict)  # scoped identifier -> the rule it stands for
    creation_key: str | None = None
    #: Set when another cluster claimed first: the rule its identifier stands for.
    found_by: Rule | None = None
    claimant: str | None = None  # the order whose cluster claimed the creation key
    #: Its mailbox is a customer's the matching found to be someone else (a family's shared
    #: one): its customer is a guest, as a scope's registered account per email is taken.
    mailbox_of_another: bool = False

    @property
    def key(self) -> str:
        """The creation key ``_claim`` gave the cluster: the customer service answers it with
        one customer, however many times it is asked."""
        assert self.creation_key is not None, "a cluster is claimed before its customer is created"
        return self.creation_key

    @property
    def person_ids(self) -> set[str]:
        """The mailboxes and accounts its orders show (Identity.person_ids)."""
        return {i for a in self.arrivals for i in a.identity.person_ids}

    @property
    def rejected(self) -> set[str]:
        """Customers the matching weighed for these orders and found to be someone else."""
        return {code for a in self.arrivals for code in a.weighed}

    @property
    def lead(self) -> Arrival:
        """The order that tells the most about the person: its customer is created."""
        return max(self.arrivals, key=_telling)


def _telling(arrival: Arrival) -> tuple[bool, bool, bool, bool]:
    """How much an order tells of its person, most first: a mailbox, an account, a phone, a
    given name."""
    identity = arrival.identity
    return (bool(identity.email), bool(identity.source_customer_id), bool(identity.phone), bool(identity.first_key))


#: The claims that are one person's identifiers: shared, they make one customer whatever
#: else the orders show. The others (a phone or street with the full name) join orders only
#: when no mailbox or account of theirs says two people (a father and his namesake son).
PERSON_RULES = frozenset({"source_customer_id", "email"})


def cluster(arrivals: list[Arrival]) -> list[Cluster]:
    clusters: list[Cluster] = []
    by_claim: dict[str, Cluster] = {}
    for arrival in arrivals:
        mine = Cluster(
            [arrival], {store.scoped(arrival.order.scope, k): rule for k, rule in arrival.identity.claim_keys()}
        )
        for claim, rule in list(mine.claims.items()):
            other = by_claim.get(claim)
            if other is None or other is mine:
                continue
            if rule not in PERSON_RULES and two_people(other.person_ids, mine.person_ids):
                continue
            other.arrivals += mine.arrivals
            other.claims.update(mine.claims)
            clusters = [c for c in clusters if c is not mine]
            mine = other
        if mine not in clusters:
            clusters.append(mine)
        for claim in mine.claims:
            by_claim.setdefault(claim, mine)
            if by_claim[claim] is not mine and not two_people(by_claim[claim].person_ids, mine.person_ids):
                by_claim[claim] = mine
    return clusters


async def _claim(runtime: ServiceRuntime, clusters: list[Cluster]) -> None:
    """O6 across batches and workers: each cluster's identifiers are claimed in one
    transaction; one claimed a moment before by another cluster gives its creation key (the
    customer service answers the same key with the same customer). A claim on a customer the
    matching weighed and found to be someone else is not followed."""
    at = now()

    async def work(uow: UnitOfWork) -> None:
        held = await store.find_claims(uow, [k for c in clusters for k in c.claims])
        fresh: dict[str, dict[str, Any]] = {}
        for c in clusters:
            c.creation_key = c.found_by = c.claimant = None
            rejected = c.rejected
            c.mailbox_of_another = any(
                rule == "email" and (doc := held.get(claim)) is not None and doc.get("code") in rejected
                for claim, rule in c.claims.items()
            )
            followed = next(
                (
                    (claim, rule)
                    for claim, rule in c.claims.items()
                    if (doc := held.get(claim) or fresh.get(claim)) is not None
                    and doc.get("code") not in rejected
                    and (rule in PERSON_RULES or not two_people(doc.get("person_ids", ()), c.person_ids))
                ),
                None,
            )
            if followed is not None:
                doc = held.get(followed[0]) or fresh[followed[0]]
                c.creation_key, c.claimant = doc["creation_key"], doc["order_key"]
                # Claimed by one of these very orders (an earlier try of this batch): created.
                c.found_by = None if c.claimant in {a.key for a in c.arrivals} else followed[1]
            else:
                # Named after an identifier no one holds: one held by a customer not followed
                # (someone else's mailbox: a family's) gave that customer's key, and the
                # customer service answered with them, a merge the matching had refused.
                free = next((claim for claim in c.claims if claim not in held and claim not in fresh), None)
                c.creation_key = f"order-claim:{free}" if free else f"order:{c.lead.key}"
                c.claimant = c.lead.key
            for claim in c.claims:
                if claim not in held and claim not in fresh:
                    fresh[claim] = {
                        "_id": claim,
                        "creation_key": c.creation_key,
                        "order_key": c.claimant,
                        "code": None,
                        "claimed_at": at,
                        "person_ids": sorted(c.person_ids),
                    }
        await store.insert_claims(uow, list(fresh.values()))

    await apply_once(runtime, None, work, inbox=False)


async def _create_customers(runtime: ServiceRuntime, customers: CustomerService, arrivals: list[Arrival]) -> None:
    """O3 through the customer service's own command, for all the clusters at once. A
    customer it refuses fails its orders alone."""
    clusters = cluster(arrivals)
    await _claim(runtime, clusters)
    asking: list[tuple[Cluster, NewCustomer]] = []
    for c in clusters:
        # Checked here against the contract, so that one order's unusable customer (a name
        # too long, say) fails that cluster alone instead of the whole command.
        fields = new_customer(c.lead.order, c.lead.identity, c.key)
        if c.mailbox_of_another:
            fields["account_type"] = "guest"
        try:
            asking.append((c, NewCustomer.model_validate(fields)))
        except ValidationError as error:
            for arrival in c.arrivals:
                arrival.failure = Rejected.invalid_fields(field_errors_from_pydantic([dict(e) for e in error.errors()]))
    if not asking:
        return
    cause = asking[0][0].lead.message
    new = [customer.model_dump(mode="json", exclude_unset=True) for _, customer in asking]
    reply = await customers.clients.call(
        CreateCustomers, {"customers": new}, correlation_id=cause.correlation_id or cause.message_id
    )
    if not reply.ok:
        # A failover on the customer service's side answers "internal" or "unavailable": the
        # orders are tried again with back-off, not dead-lettered as if they were at fault.
        raise refusal(reply.error)
    created: list[dict[str, Any]] = []
    settled: dict[str, str] = {}
    for (c, _), creation in zip(asking, reply.result.customers, strict=True):
        holder = None
        if creation.customer is None:
            holder = await _registered_holder(customers, c, creation.error)
            if holder is None:
                for arrival in c.arrivals:
                    arrival.failure = Rejected(creation.error)
                continue
            c.found_by, c.claimant = "email", None  # the account whose email it is: found, not created
        customer = holder or creation.customer
        code = customer.code
        entry = CustomerEntry.from_view(customer.model_dump(mode="json")).doc
        created.append(entry)
        settled[c.key] = code
        for arrival in c.arrivals:
            arrival.known = entry
            if arrival.key == c.claimant and c.found_by is None:
                # This order's customer, just created (or created by an earlier try of it).
                arrival.decision = Decision("link", "created", code, arrival.decision.candidates)
            else:
                # A twin's customer: found by the identifier they share (O6), not created.
                rule = c.found_by or next((r for k, r in _claims_of(arrival) if k in c.claims), "created")
                arrival.decision = _twin_decision(arrival, rule, code, entry, c.lead)
    await store.save_customer_entries(runtime.db, created)
    await store.settle_claims(runtime.db, settled)
    # Noted by a cluster that followed another's claim too: the claimant's own try may have
    # failed between claiming and hearing the answer (a creation timed out), and its retry,
    # finding the customer by an identifier, must still say it created it.
    await store.note_creating_orders(
        runtime.db, {settled[c.key]: c.claimant for c, _ in asking if c.key in settled and c.claimant}
    )


def _twin_decision(arrival: Arrival, rule: Rule | None, code: str, entry: dict[str, Any], lead: Arrival) -> Decision:
    """A twin's order goes where it would have gone one order at a time, after the customer
    made for its cluster: linked by the identifier they share, except by a name and a postal
    code alone (two cash sales of one name in one postal code), which tells no namesake apart
    and waits for a CSR with that customer as its candidate (O5)."""
    if rule != "name_postal":
        return Decision("link", rule, code, arrival.decision.candidates)
    profile = Profile.of_customer(code, entry)
    profile.add(profile.missing(lead.identity.learned()))
    candidate = score(arrival.identity, profile)
    return Decision("review", rule, candidates=(candidate,), score=candidate.score)


async def _registered_holder(customers: CustomerService, c: Cluster, error: Any) -> Any:
    """The registered account of the scope that already uses the cluster's email, when that is
    why its creation was refused: a customer this service has not heard of yet (its event is
    on its way) or one another cluster made under another key. Its orders are that account's;
    an order is never lost to a refusal the email rule would have avoided."""
    email = c.lead.identity.email
    if error is None or error.code != "conflict" or email is None:
        return None
    reply = await customers.clients.call(FindAccountsByEmail, {"email": email})
    if not reply.ok:
        return None
    scope = c.lead.order.scope
    holders = [a for a in reply.result.accounts if a.scope_id == scope and a.account_type == "registered"]
    if len(holders) != 1:
        return None
    found = await customers.clients.call(GetCustomer, {"customer_code": holders[0].code})
    return found.result if found.ok else None


def _claims_of(arrival: Arrival) -> list[tuple[str, Rule]]:
    return [(store.scoped(arrival.order.scope, k), rule) for k, rule in arrival.identity.claim_keys()]


async def _store_settling(
    runtime: ServiceRuntime,
    customers: CustomerService,
    items: list[tuple[Pending[Any, Arrival], Arrival]],
    recording: asyncio.Lock,
) -> None:
    """Record the orders together (each alone if that fails), replay the events that waited
    for them, and let their handlers go on. ``recording`` is held while a transaction stores
    orders (``create_intake``)."""
    arrivals = [arrival for _, arrival in items]
    if arrivals:
        try:
            async with recording:
                await _record(runtime, arrivals)
        except Exception:  # noqa: BLE001 - one order may be the cause: each on its own
            log.warning(
                "a batch of %d orders could not be stored together; storing each alone", len(arrivals), exc_info=True
            )
            for arrival in arrivals:
                async with recording:
                    await _failing_alone(arrival, _record(runtime, [arrival]))
    for pending, arrival in items:
        if arrival.failure is None and arrival.replay:
            await _failing_alone(arrival, replay_parked(runtime, customers, arrival.key))
        if arrival.failure is None:
            pending.resolve(arrival)
        else:
            pending.fail(arrival.failure)


async def _failing_alone(arrival: Arrival, step: Awaitable[Any]) -> None:
    try:
        await step
    except Exception as error:  # noqa: BLE001 - this order's handler raises it
        arrival.failure = error


async def _identify(customers: CustomerService, arrivals: list[Arrival]) -> None:
    for arrival in arrivals:
        scope = await customers.scopes.get(arrival.order.scope)
        if scope is None:
            arrival.failure = Rejected.invalid(
                "payload.scope", f"no scope {arrival.order.scope!r} in the customer service"
            )
            continue
        try:
            arrival.identity = identity_of(arrival.order, scope.country)
        except Exception as error:  # noqa: BLE001
            arrival.failure = error


async def _decide(runtime: ServiceRuntime, arrivals: list[Arrival]) -> None:
    """O2 for all the orders of a batch: their known source links, the customers behind any
    of their identifiers, and those customers' profiles, in one query each; then each order
    is scored against its candidates (matching.decide)."""
    db = runtime.db
    links = await store.linked_customers(db, [a.source_link for a in arrivals if a.source_link])
    keys = {id(a): [store.scoped(a.order.scope, k) for k in a.identity.blocking_keys()] for a in arrivals}
    codes_by_key, common = await store.identifier_codes(db, sorted({k for ks in keys.values() for k in ks}))
    codes = {c for ks in codes_by_key.values() for c in ks} | set(links.values())
    groups = await store.candidates(db, codes)
    survivor = {doc["_id"]: code for code, docs in groups.items() for doc in docs}
    profiles = {code: Profile.of(code, docs) for code, docs in groups.items()}
    # A customer created a moment ago (here or on another worker) is scored with the mailboxes
    # and accounts of the orders it was made for, though they are not stored yet: a namesake
    # with another mailbox is told apart from it at once.
    for code, ids in (await store.claimed_person_ids(db, sorted(survivor))).items():
        profiles[survivor[code]].add(
            {
                "emails": [i.removeprefix("em:") for i in ids if i.startswith("em:")],
                "sources": [i.removeprefix("src:") for i in ids if i.startswith("src:")],
            }
        )
    limits = thresholds(runtime)
    identities: dict[int, Identity] = {}
    for arrival in arrivals:
        identity = without_common(arrival.identity, {k.split("|", 1)[1] for k in keys[id(arrival)] if k in common})
        # From here on the order is what it tells: a common identifier is neither claimed for
        # a new customer (every walk-in buyer at a shop's mailbox would be one) nor taught.
        arrival.identity = identities[id(arrival)] = identity
        found = {survivor[c] for k in keys[id(arrival)] for c in codes_by_key.get(k, ()) if c in survivor}
        linked = _linked(links.get(arrival.source_link) if arrival.source_link else None, arrival, groups, survivor)
        arrival.decision = decide(identity, linked, [score(identity, profiles[c]) for c in sorted(found)], limits)
        arrival.weighed = {doc["_id"] for c in found for doc in groups.get(c, ())} | found
    await _look_at_the_household(runtime, arrivals, identities)
    for arrival in arrivals:
        code = arrival.decision.customer_code or ""  # none for a review or a new customer
        arrival.known = next((d for d in groups.get(code, ()) if d["_id"] == code), None)
        if (
            arrival.known
            and arrival.known.get("created_for_order") == arrival.key
            and arrival.decision.rule != "created"
        ):
            # The customer this order's earlier try created (it was not stored then): the
            # order says so, not which identifier found it now.
            arrival.decision = replace(arrival.decision, rule="created")
        if arrival.decision.duplicates:
            arrival.versions = {
                d["_id"]: d.get("version", 0)
                for c in (code, *arrival.decision.duplicates)
                for d in groups.get(c, ())
                if d["_id"] == c
            }


async def _look_at_the_household(
    runtime: ServiceRuntime, arrivals: list[Arrival], identities: dict[int, Identity]
) -> None:
    """A second look for the orders linked by a household's landline or street and a given
    name alone: a namesake living there makes the link a CSR's decision (matching.housemates).
    Two queries for the batch, only when such an order is in it."""
    household = {id(a): [store.scoped(a.order.scope, k) for k in housemate_keys(a.decision)] for a in arrivals}
    wanted = sorted({k for ks in household.values() for k in ks})
    if not wanted:
        return
    codes_by_key, _ = await store.identifier_codes(runtime.db, wanted)
    groups = await store.candidates(runtime.db, {c for codes in codes_by_key.values() for c in codes})
    survivor = {doc["_id"]: code for code, docs in groups.items() for doc in docs}
    profiles = {code: Profile.of(code, docs) for code, docs in groups.items()}
    for arrival in arrivals:
        neighbours = {survivor[c] for k in household[id(arrival)] for c in codes_by_key.get(k, ()) if c in survivor}
        if neighbours:
            arrival.decision = housemates(
                identities[id(arrival)], arrival.decision, [profiles[c] for c in sorted(neighbours)]
            )


def _linked(
    code: str | None, arrival: Arrival, groups: dict[str, list[dict[str, Any]]], survivor: dict[str, str]
) -> str | None:
    """The customer a known source link names, if it is one of the order's scope: a shop
    that serves several scopes keeps one customer id for what are customers of each (C2).
    A link is trusted before its customer's event came (no document yet)."""
    if code is None:
        return None
    code = survivor.get(code, code)
    doc = next((d for d in groups.get(code, ()) if d["_id"] == code), None)
    return code if doc is None or doc.get("scope_id") in (None, arrival.order.scope) else None


async def create_customer(
    runtime: ServiceRuntime, customers: CustomerService, cause: Envelope[Any], payload: dict[str, Any]
) -> str:
    """One customer through the customer service's own command (a CSR's review decision)."""
    reply = await customers.clients.call(
        CreateCustomer, payload, correlation_id=cause.correlation_id or cause.message_id
    )
    if not reply.ok:
        raise Rejected(reply.error)  # a CSR's command: the customer service's answer is theirs
    await store.save_customer_entry(runtime.db, CustomerEntry.from_view(reply.result.model_dump(mode="json")).doc)
    code: str = reply.result.code
    return code


async def _record(runtime: ServiceRuntime, arrivals: list[Arrival]) -> None:
    """Store the orders with their links, what their customers' profiles learned, and their
    events, in one transaction. Once per order (O6): the order's key, not the message id,
    makes a second delivery, or a twin in the same batch, a no-op that only finishes the
    replay of its parked events; a delivery whose content changed is a new version of the
    order (O8, ``_change_content``)."""
    db, at = runtime.db, now()

    async def work(uow: UnitOfWork) -> None:
        existing = await store.find_orders(uow, [a.key for a in arrivals])
        targets = await store.link_targets(
            uow,
            Counter(
                a.decision.customer_code for a in arrivals if a.decision.kind == "link" and a.decision.customer_code
            ),
        )
        for arrival in arrivals:
            target = targets.get(arrival.decision.customer_code or "")
            if target is None:
                continue
            if target.get("merged_into"):
                # Merged into another while this batch was under way: the survivor's order.
                arrival.decision = replace(arrival.decision, customer_code=target["merged_into"])
                target = targets.get(target["merged_into"])
            arrival.known = target  # what its profile holds now: only what is new is taught
        docs: dict[str, dict[str, Any]] = {}
        links: list[tuple[str, str]] = []
        learned: dict[str, Profile] = {}  # by customer: what its profile holds, with this batch
        teaching = []
        changed: list[tuple[Arrival, dict[str, Any]]] = []
        for arrival in arrivals:
            before = existing.get(arrival.key)
            # A placeholder says events came first. (An event parked while this transaction
            # runs writes the placeholder too: a write conflict, and the retry sees it.)
            arrival.replay = before is not None or arrival.key in docs
            if arrival.replay and (arrival.key in docs or not (before or {}).get("placeholder")):
                if before is not None and arrival.key not in docs:
                    changed.append((arrival, before))  # stored before: a redelivery, or a new version
                continue  # or a twin earlier in this batch
            docs[arrival.key] = await _order_document(runtime, uow, arrival, at)
            decision = arrival.decision
            if decision.kind == "link" and decision.customer_code:
                if arrival.source_link:
                    links.append((arrival.source_link, decision.customer_code))
                teaching.append(_teach(learned, decision.customer_code, arrival))
        await store.remember_source_links(uow, links, at)
        await store.put_orders(uow, list(docs.values()), set(existing))
        await store.teach(uow, [t for t in teaching if t is not None])
        await store.note_strangers(uow, _strangers([a for a in arrivals if a.key in docs]))
        for arrival, before in changed:
            await _change_content(db, uow, arrival, before)

    await apply_once(runtime, None, work, inbox=False)


def _strangers(arrivals: list[Arrival]) -> dict[str, set[str]]:
    """The surnames of the orders waiting for a CSR because their mailbox is held by others
    (matching.stranger_at_the_mailbox), by scoped mailbox: shown under several, it is a
    shop's or an office's (store.STRANGERS_AT_A_MAILBOX)."""
    strangers: dict[str, set[str]] = {}
    for arrival in arrivals:
        identity = arrival.identity
        if stranger_at_the_mailbox(identity, arrival.decision) and identity.last_key:
            key = store.scoped(arrival.order.scope, f"em:{identity.email_canon}")
            strangers.setdefault(key, set()).add(store.surname_mark(identity.last_key))
    return strangers


async def _change_content(db: store.Database, uow: UnitOfWork, arrival: Arrival, before: dict[str, Any]) -> None:
    """O8: an order the source system sent again. Changed (its totals, lines, addresses or
    display number), it is a new version of the order: stored, and told to its customer's
    history. It keeps its customer (or its review): the match was made on what the customer
    gave at checkout, which an update does not retell. The same content again, or an older
    version coming back (it was stored before, or a later one was: the adapter's publication
    time orders them), changes nothing."""
    order, message = arrival.order, arrival.message
    digest = content_hash(order)
    if digest == before.get("content_hash") or digest in before.get("content_hashes", ()):
        return  # a redelivery: most are
    # The status stays the one status events set (they carry when it changed; a body does not).
    current = summary(order).model_copy(update={"status": before.get("status")})
    if not await store.change_content(
        uow,
        arrival.key,
        digest,
        message.occurred_at,
        {"summary": current.model_dump(mode="json"), "number_keys": number_keys(order)},
    ):
        return  # a later version is stored
    code = before.get("customer_code")
    if code is None:
        return  # in review: the CSR's decision links it as it is then
    uow.publish(
        OrderChanged(
            **message.caused(producer=uow.producer),
            payload=OrderChangedPayload(
                customer_code=code, order=current, content_version=before.get("content_version", 0) + 1
            ),
        ),
        partition_key=code,
    )


def _teach(learned: dict[str, Profile], code: str, arrival: Arrival) -> tuple[UpdateOne | None, list[UpdateOne]] | None:
    """O4: what the customer's profile learns from one more order of theirs: only what it
    did not hold (most returning orders teach nothing, and write nothing)."""
    profile = learned.get(code) or learned.setdefault(code, Profile.of_customer(code, arrival.known))
    lesson = profile.lesson(arrival.identity.learned())
    return None if lesson is None else store.learning(code, arrival.order.scope, *lesson)


async def _order_document(runtime: ServiceRuntime, uow: UnitOfWork, arrival: Arrival, at: datetime) -> dict[str, Any]:
    """The order as stored, with its link (its rule, score and evidence) or its review;
    records the event that says so."""
    order, decision, message = arrival.order, arrival.decision, arrival.message
    order_summary, digest = summary(order), content_hash(order)
    doc = {
        "_id": arrival.key,
        "source_system": order.source_system,
        "order_number": order.order_number,
        "number_keys": number_keys(order),
        "scope_id": order.scope,
        "summary": order_summary.model_dump(mode="json"),
        "placed_at": order.placed_at,
        "status": order.status,
        "received_at": at,
        "message_id": message.message_id,
        "notes": list(arrival.identity.notes),
        "customer_code": None,
        "rule": decision.rule,
        "score": _rounded(decision.score),
        "evidence": [e.as_dict() for e in decision.evidence],
        "review_id": None,
        "shipments": [],
        "payments": [],
        "source_link": arrival.source_link,
        # O8: which version of the order's content this is, to know a later one by.
        "content_hash": digest,
        "content_hashes": [digest],
        "content_at": message.occurred_at,
        "content_version": 0,
    }
    if decision.kind == "link":
        doc.update(customer_code=decision.customer_code, linked_at=at)
        uow.publish(
            OrderLinked(
                **message.caused(producer=uow.producer),
                payload=OrderLinkedPayload(
                    customer_code=decision.customer_code,
                    rule=decision.rule,
                    score=_rounded(decision.score),
                    customer_created=decision.rule == "created",
                    order=order_summary,
                ),
            ),
            partition_key=decision.customer_code,
        )
    elif decision.kind == "review":
        doc["review_id"] = await open_review(runtime, uow, message, arrival.identity, decision, at)
    return doc


def _rounded(score: float | None) -> float | None:
    return None if score is None else round(score, 2)


async def open_review(
    runtime: ServiceRuntime, uow: UnitOfWork, message: OrderPlaced, identity: Identity, decision: Decision, at: datetime
) -> str:
    """O5: the order waits for a CSR, with each candidate's score and the evidence for and
    against it."""
    order = message.payload
    review_id = uuid.uuid4().hex[:16]
    await store.insert_review(
        uow,
        {
            "_id": review_id,
            "status": "open",
            "rule": decision.rule,
            "order_key": order_key(order.source_system, order.order_number),
            "order": order.model_dump(mode="json"),
            "summary": summary(order).model_dump(mode="json"),
            "candidates": [c.code for c in decision.candidates],
            "scores": {
                c.code: {"score": _rounded(c.score), "evidence": [e.as_dict() for e in c.evidence]}
                for c in decision.candidates
            },
            "opened_at": at,
            "email": identity.email,
            "phone": identity.phone,
            "first_name": identity.first_name,
            "last_name": identity.last_name,
            "postal_code": next(
                (a.postal_code for a in (order.billing_address, order.shipping_address) if a and a.postal_code), None
            ),
            "signature": identity.signature(),
            "notes": list(identity.notes),
        },
    )
    uow.publish(
        OrderReviewOpened(
            **message.caused(producer=uow.producer),
            payload=ReviewOpenedPayload(
                review_id=review_id,
                order=summary(order),
                rule=decision.rule,
                candidates=[c.code for c in decision.candidates],
            ),
        )
    )
    return review_id
