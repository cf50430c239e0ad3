"""MongoDB access of the notification service: administrators' templates and email activities.

An activity is one email: its rendered content (a single-use link's token redacted, the copy
for SMTP sealed in ``sealed`` until the email is sent or given up), who it is for (customer,
and order when it concerns one), and its delivery state machine::

    queued --claim--> sending/claimed --before DATA--> sending/data --250--> sent
       ^                   |                              |
       +--- 4xx, network --+------------------------------+--> failed (5xx, out of attempts,
                                                                      or outcome unknown)

A system email the recording worker's own connections have room for is inserted already
claimed by it (``claimed``): the claim's find, update and read back would only take back
what this worker has in hand.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import BulkWriteError, ConnectionFailure, OperationFailure, PyMongoError

from contracts.notification.emails import ActivityView, DeliveryError, LinkSent, OrderReference
from contracts.order_sync.linking import OrderSummary
from plumbing import clock
from plumbing.unit_of_work import UnitOfWork

from .catalog import StoredTemplate

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

    from plumbing.runtime import ServiceRuntime

TEMPLATES = "templates"
ACTIVITIES = "activities"
DUPLICATE_KEY = 11000
#: Delivery errors kept on an activity (the attempts counter keeps counting).
MAX_ERRORS_KEPT = 20


now = clock.now  # as MongoDB stores it (milliseconds), so cursors compare exactly

_last_created: datetime | None = None

T = TypeVar("T")
log = logging.getLogger("oms.notification.store")


def creation_time() -> datetime:
    """When an activity is recorded: ``now()``, but never the same millisecond twice in this
    process. Activities recorded in one batch (a burst of events) would otherwise share one,
    and a customer's history, newest first, would show them in the order of their ids
    instead of the order their causes arrived in."""
    global _last_created
    moment = now()
    if _last_created is not None and moment <= _last_created:
        moment = _last_created + timedelta(milliseconds=1)
    _last_created = moment
    return moment


async def ensure_indexes(runtime: ServiceRuntime) -> None:
    db = runtime.db
    # Two collections side by side, each in one command (a start is mostly these round trips).
    await asyncio.gather(
        db[TEMPLATES].create_index(
            [("name", ASCENDING), ("scope_id", ASCENDING), ("language", ASCENDING)], unique=True
        ),
        db[ACTIVITIES].create_indexes(
            [
                # History pages, newest first (N5).
                IndexModel([("customer_code", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]),
                IndexModel(
                    [
                        ("order.source_system", ASCENDING),
                        ("order.order_number", ASCENDING),
                        ("created_at", DESCENDING),
                        ("_id", DESCENDING),
                    ],
                    partialFilterExpression={"order.source_system": {"$exists": True}},
                ),
                # The sender's two questions: what is due, and whose claim has run out (N6).
                IndexModel([("next_attempt_at", ASCENDING)], partialFilterExpression={"status": "queued"}),
                IndexModel([("lease_until", ASCENDING)], partialFilterExpression={"status": "sending"}),
            ]
        ),
    )


# --- templates (N3) ------------------------------------------------------------------------------


def _template_id(name: str, scope_id: str | None, language: str) -> str:
    return f"{name}|{scope_id or '*'}|{language}"


def _template(doc: dict[str, Any]) -> StoredTemplate:
    return StoredTemplate(
        name=doc["name"],
        kind=doc["kind"],
        source="custom",
        scope_id=doc.get("scope_id"),
        language=doc["language"],
        subject=doc["subject"],
        html=doc["html"],
        text=doc["text"],
        variables=doc.get("variables") or {},
        description=doc.get("description"),
        version=doc["version"],
        updated_at=doc.get("updated_at"),
        updated_by=doc.get("updated_by"),
    )


async def custom_templates_for(
    db: AsyncDatabase[dict[str, Any]], names: list[str], scope_ids: list[str | None], languages: list[str]
) -> list[StoredTemplate]:
    """The overrides emails could use: their scopes' and every scope's, in their candidate
    languages. One read for a whole batch of emails (it may return a few that no one email
    of the batch uses; ``emails.choose`` picks)."""
    docs = (
        await db[TEMPLATES]
        .find(
            {
                "name": {"$in": sorted(set(names))},
                "scope_id": {"$in": [*{s for s in scope_ids if s is not None}, None]},
                "language": {"$in": sorted(set(languages))},
            }
        )
        .to_list()
    )
    return [_template(doc) for doc in docs]


async def custom_templates(
    db: AsyncDatabase[dict[str, Any]], *, name: str | None, scope_id: str | None
) -> list[StoredTemplate]:
    query: dict[str, Any] = {}
    if name is not None:
        query["name"] = name
    if scope_id is not None:
        query["scope_id"] = {"$in": [scope_id, None]}
    docs = await db[TEMPLATES].find(query).sort([("name", 1), ("scope_id", 1), ("language", 1)]).to_list()
    return [_template(doc) for doc in docs]


async def save_template(uow: UnitOfWork, template: StoredTemplate) -> StoredTemplate:
    doc = await uow.db[TEMPLATES].find_one_and_update(
        {"_id": _template_id(template.name, template.scope_id, template.language)},
        {
            "$set": {
                "name": template.name,
                "kind": template.kind,
                "scope_id": template.scope_id,
                "language": template.language,
                "subject": template.subject,
                "html": template.html,
                "text": template.text,
                "variables": template.variables,
                "description": template.description,
                "updated_at": template.updated_at,
                "updated_by": template.updated_by,
            },
            "$inc": {"version": 1},
        },
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=uow.session,
    )
    if doc is None:  # an upsert returning the document after it: never, but the driver's type allows it
        raise RuntimeError(f"template {template.name!r} not found right after its upsert")
    return _template(doc)


async def remove_template(uow: UnitOfWork, name: str, scope_id: str | None, language: str) -> bool:
    result = await uow.db[TEMPLATES].delete_one({"_id": _template_id(name, scope_id, language)}, session=uow.session)
    return result.deleted_count == 1


# --- activities: recording (N5) -------------------------------------------------------------------


async def record_activity(uow: UnitOfWork, activity: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Insert the activity unless its key is already there; return the stored one, and
    whether it is new. An upsert rather than an insert: a duplicate key error would abort
    the transaction."""
    result = await uow.db[ACTIVITIES].update_one(
        {"_id": activity["_id"]}, {"$setOnInsert": activity}, upsert=True, session=uow.session
    )
    if result.upserted_id is not None:
        return activity, True
    stored = await uow.db[ACTIVITIES].find_one({"_id": activity["_id"]}, session=uow.session)
    if stored is None:  # the upsert found it, in this transaction's snapshot
        raise RuntimeError(f"activity {activity['_id']!r} vanished inside its transaction")
    return stored, False


async def record_activities(uow: UnitOfWork, activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``record_activity`` for a batch in two round trips: the keys already there are
    looked up, the new activities inserted together; returns the new ones. In the caller's
    snapshot transaction, a twin inserted meanwhile by another worker is a write conflict
    (retried whole, and the retry finds it), never a duplicate key that aborts it."""
    keys = [doc["_id"] for doc in activities]
    there = {
        doc["_id"]
        for doc in await uow.db[ACTIVITIES].find({"_id": {"$in": keys}}, {"_id": 1}, session=uow.session).to_list()
    }
    new: dict[str, dict[str, Any]] = {}
    for doc in activities:
        if doc["_id"] not in there:
            new.setdefault(doc["_id"], doc)  # the same email twice in one batch: once
    if new:
        await uow.db[ACTIVITIES].insert_many(list(new.values()), session=uow.session)
    return list(new.values())


async def insert_activities(
    db: AsyncDatabase[dict[str, Any]], activities: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Insert the activities whose keys are not there yet, in one unordered write (the
    database's majority write concern): those already there (their events delivered again,
    or twice in one batch) are left as they are. Returns the ones inserted. No transaction:
    it publishes nothing."""
    try:
        await db[ACTIVITIES].insert_many(activities, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != DUPLICATE_KEY for error in errors) or exc.details.get("writeConcernErrors"):
            raise
        refused = {error["index"] for error in errors}
        return [doc for index, doc in enumerate(activities) if index not in refused]
    return activities


async def activity(db: AsyncDatabase[dict[str, Any]], activity_id: str) -> dict[str, Any] | None:
    return await db[ACTIVITIES].find_one({"_id": activity_id})


async def activities_page(
    db: AsyncDatabase[dict[str, Any]],
    *,
    customer_code: str | None,
    order: OrderReference | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> tuple[list[dict[str, Any]], bool]:
    """One page, newest first, after the (created_at, id) of the previous page's last item."""
    query: dict[str, Any]
    if customer_code is not None:
        query = {"customer_code": customer_code}
    elif order is not None:
        query = {"order.source_system": order.source_system, "order.order_number": order.order_number}
    else:
        raise ValueError("activities of a customer or of an order: neither given")
    if after is not None:
        created_at, activity_id = after
        query["$or"] = [
            {"created_at": {"$lt": created_at}},
            {"created_at": created_at, "_id": {"$lt": activity_id}},
        ]
    docs = await (
        db[ACTIVITIES].find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit + 1).to_list()
    )
    return docs[:limit], len(docs) > limit


def to_view(doc: dict[str, Any]) -> ActivityView:
    return ActivityView(
        activity_id=doc["_id"],
        customer_code=doc["customer_code"],
        scope_id=doc["scope_id"],
        order=OrderReference(**doc["order"]) if doc.get("order") else None,
        initiated_by=doc["initiated_by"],
        actor_id=doc.get("actor_id"),
        cause_type=doc["cause_type"],
        template=doc["template"],
        template_source=doc["template_source"],
        template_version=doc["template_version"],
        template_note=doc.get("template_note"),
        language=doc["language"],
        sender=doc["sender"],
        to=doc["to"],
        subject=doc["subject"],
        html=doc["html"],
        text=doc["text"],
        message_id=doc["message_id"],
        link_sent=LinkSent(**doc["link_sent"]) if doc.get("link_sent") else None,
        status=doc["status"],
        attempts=doc["attempts"],
        next_attempt_at=doc.get("next_attempt_at"),
        last_error=doc.get("last_error"),
        errors=[DeliveryError(**error) for error in doc.get("errors", [])],
        outcome_unknown=doc.get("outcome_unknown", False),
        created_at=doc["created_at"],
        sent_at=doc.get("sent_at"),
        failed_at=doc.get("failed_at"),
    )


# --- activities: delivery (N6) -----------------------------------------------------------------------
#
# Every claim gets a token of its own, and every change after the claim names it: a worker
# that lost its claim to the sweeper can no longer move the email, so two workers never
# both send it.
#
# The claim and the DATA phase are multi-document updates, which the driver never retries
# (retryable writes cover single-document ones), and a failover can fail them after the
# primary applied them: a primary that steps down interrupts the wait for the majority
# (``InterruptedDueToReplStateChange`` as a write concern error) of an update it already
# made. Left at that, the worker never learns which emails it claimed, and they wait for
# their lease to run out (two emails of 400 in the cluster test of a primary stepped down
# twice, held two minutes). Both writes are made so that running them again is safe (their
# filters match only what is not done yet, under the same token), and ``retried`` runs them
# again until they answer.

#: Error codes after which a write may or may not have been applied, and a primary may
#: answer soon: the retryable writes specification's list (PyMongo's
#: ``helpers_shared._RETRYABLE_ERROR_CODES``, private): not primary or stepping down,
#: shutting down, the network.
AMBIGUOUS_CODES = frozenset({10058, 10107, 13435, 11602, 13436, 189, 11600, 91, 7, 6, 89, 9001, 262, 134})
#: How long a pre-DATA write is tried again: two elections back to back take a few seconds
#: (each attempt also waits up to the driver's server selection timeout for a primary).
RETRY_SECONDS = 30.0


def ambiguous(exc: BaseException) -> bool:
    """A failover's error: the write may have been applied or not, and trying it again on
    the next primary is how to know. (A duplicate key or a validation error is not.)"""
    if isinstance(exc, ConnectionFailure):  # the network, no primary, not primary any more
        return True
    if isinstance(exc, PyMongoError) and exc.has_error_label("RetryableWriteError"):
        return True
    return isinstance(exc, OperationFailure) and exc.code in AMBIGUOUS_CODES  # write concern errors too


async def retried(write: Callable[[], Awaitable[T]], *, within: float = RETRY_SECONDS) -> T:
    """``write()``, run again while it fails ambiguously, for up to ``within`` seconds.
    ``write`` must be safe to run again after it was applied (a filter that no longer
    matches what it changed): then the answer of the last run says what is done."""
    deadline = time.monotonic() + within
    delay = 0.05
    while True:
        try:
            return await write()
        except PyMongoError as exc:
            if not ambiguous(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("a write before DATA met a failover (%s); running it again", exc)
        await asyncio.sleep(delay)
        delay = min(2 * delay, 1.0)


def _claim_fields(token: str, holder: str, moment: datetime, lease: timedelta) -> dict[str, Any]:
    return {
        "status": "sending",
        "phase": "claimed",
        "claim": token,
        "holder": holder,
        "lease_until": moment + lease,
        "next_attempt_at": None,
        "attempt_started_at": moment,
    }


def claimed(activity: dict[str, Any], *, token: str, holder: str, lease: timedelta) -> dict[str, Any]:
    """A queued activity as ``claim_due`` would leave it, to be inserted so: its first
    attempt counted and held under ``token`` by this worker's sender, which has room for it.
    A crash before DATA leaves it to the sweeper when the lease runs out, as any claim."""
    return {**activity, **_claim_fields(token, holder, now(), lease), "attempts": activity["attempts"] + 1}


async def held_under(
    db: AsyncDatabase[dict[str, Any]], activities: list[dict[str, Any]], token: str
) -> list[dict[str, Any]]:
    """Of ``activities``, those the database holds under the claim ``token``: what an insert
    whose answer a failover lost applied after all. Empty if they cannot be read now: their
    lease then brings them back, as after a crash."""
    ids = [activity["_id"] for activity in activities if activity.get("claim") == token]
    if not ids:
        return []
    try:
        return await retried(lambda: db[ACTIVITIES].find({"_id": {"$in": ids}, "claim": token}).to_list())
    except PyMongoError as exc:
        log.warning(
            "%d emails recorded under a claim could not be read back (%s); their lease will free them", len(ids), exc
        )
        return []


def _claim(doc: dict[str, Any]) -> dict[str, Any]:
    return {"_id": doc["_id"], "claim": doc["claim"]}


async def claim_due(
    db: AsyncDatabase[dict[str, Any]], *, holder: str, lease: timedelta, limit: int
) -> list[dict[str, Any]]:
    """Take up to ``limit`` of the most overdue queued emails, counting the attempt before
    anything is sent. One update for the lot: claims cost a durable write each, and taking
    them one by one would cap a worker at one claim per write latency.

    The update is run again after a failover's error (``retried``): it takes only emails
    still queued, so a second run claims what the first did not, under the same token and
    counting no attempt twice, and the emails under the token are this worker's either way."""
    moment = now()
    due = {"status": "queued", "next_attempt_at": {"$lte": moment}}
    ids = [
        d["_id"]
        for d in await db[ACTIVITIES].find(due, {"_id": 1}).sort("next_attempt_at", ASCENDING).limit(limit).to_list()
    ]
    if not ids:
        return []
    token = uuid.uuid4().hex
    await retried(
        lambda: db[ACTIVITIES].update_many(
            {**due, "_id": {"$in": ids}},  # another worker may have taken some meanwhile
            {"$set": _claim_fields(token, holder, moment, lease), "$inc": {"attempts": 1}},
        )
    )
    # By _id: the claim token has no index of its own.
    return await retried(lambda: db[ACTIVITIES].find({"_id": {"$in": ids}, "claim": token}).to_list())


def _claims(claimed: list[dict[str, Any]]) -> dict[str, Any]:
    """Several emails, each under the claim it was taken with."""
    ids_by_claim: dict[str, list[str]] = {}
    for doc in claimed:
        ids_by_claim.setdefault(doc["claim"], []).append(doc["_id"])
    # One clause per claim, not per email: the server plans each clause of an $or apart; an
    # update by an $or of an email each cost it nearly twice the CPU of one by ``$in`` (step 16).
    clauses = [{"claim": token, "_id": {"$in": ids}} for token, ids in ids_by_claim.items()]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


async def enter_data_phase(
    db: AsyncDatabase[dict[str, Any]], claimed: list[dict[str, Any]], *, lease: timedelta
) -> set[str]:
    """Record, just before DATA, that the server may take these messages from now on: the
    emails whose envelopes are ready, in one write. Returns the ids of those that entered
    the phase; the others lost their claim (the worker was too slow and the sweeper took
    them back), and the worker must not send them.

    Durable (the database's majority write concern) before any of them goes to DATA. A crash
    right after it leaves these emails in DATA (outcome unknown, never sent again by the
    sweeper); none of them is further than its DATA command, so the window stays one DATA
    exchange per email, taken together.

    Run again after a failover's error (``retried``): the update moves only emails still
    claimed before DATA, so a second run moves what the first did not, and the emails in
    DATA under this worker's claims are read back (a second run's majority write concern
    waits for what the first one wrote, as the server does for a write that changes
    nothing, so nothing read back can be rolled back). An email goes to DATA only once this
    answers; if it never does, none of them goes, and the caller queues them again."""

    async def attempt() -> set[str]:
        result = await db[ACTIVITIES].update_many(
            {**_claims(claimed), "status": "sending", "phase": "claimed"},
            {"$set": {"phase": "data", "lease_until": now() + lease}},
        )
        if result.modified_count == len(claimed):
            return {doc["_id"] for doc in claimed}
        # Some claims were lost, or a first run moved some: the emails in DATA under the
        # claim this worker holds are its own.
        entered = await db[ACTIVITIES].find({**_claims(claimed), "phase": "data"}, {"_id": 1}).to_list()
        return {doc["_id"] for doc in entered}

    return await retried(attempt)


def _error(attempt: int, code: int | None, error: str, permanent: bool) -> dict[str, Any]:
    return {"at": now(), "attempt": attempt, "code": code, "error": error[:1000], "permanent": permanent}


# The claim token stays: it names the last claim, which is what lets a late "sent" from
# that claim still land after the sweeper gave the email up.
_RELEASED = {"phase": None, "lease_until": None}
#: Sent or given up: the sealed copy for SMTP (C14) is not kept a moment longer.
_DONE = {"sealed": ""}


async def mark_sent(uow: UnitOfWork, claimed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The server accepted them: several emails in one write of the caller's transaction;
    returns the activities marked (as claimed, without their bodies), for their ``EmailSent``
    events. Matches on the claim only, not the status: if the sweeper gave an email up as
    "outcome unknown" meanwhile, the truth (sent) wins. When the write changed every one of
    them (as it does but after a second copy of a "sent"), the claimed documents say what
    was marked; otherwise the ones marked are read back, in the same snapshot transaction:
    a concurrent change is a write conflict, retried whole."""
    changes = {**_RELEASED, "status": "sent", "sent_at": now(), "outcome_unknown": False, "failed_at": None}
    result = await uow.db[ACTIVITIES].update_many(
        {**_claims(claimed), "status": {"$ne": "sent"}}, {"$set": changes, "$unset": _DONE}, session=uow.session
    )
    if result.modified_count == len({doc["_id"] for doc in claimed}):
        marked = list({doc["_id"]: doc for doc in claimed}.values())
    elif result.modified_count:
        marked = (
            await uow.db[ACTIVITIES]
            .find({**_claims(claimed), "sent_at": changes["sent_at"]}, {"_id": 1}, session=uow.session)
            .to_list()
        )
        ids = {doc["_id"] for doc in marked}
        marked = [doc for doc in {doc["_id"]: doc for doc in claimed}.values() if doc["_id"] in ids]
    else:
        return []
    return [{**_without_bodies(doc), **changes} for doc in marked]


def _without_bodies(doc: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in doc.items() if name not in ("html", "text", "sealed")}


async def schedule_retry(
    db: AsyncDatabase[dict[str, Any]], claimed: dict[str, Any], *, code: int | None, error: str, retry_in: float
) -> bool:
    result = await db[ACTIVITIES].update_one(
        {**_claim(claimed), "status": "sending"},
        {
            "$set": {
                **_RELEASED,
                "status": "queued",
                "next_attempt_at": now() + timedelta(seconds=retry_in),
                "last_error": error[:1000],
            },
            "$push": {
                "errors": {"$each": [_error(claimed["attempts"], code, error, False)], "$slice": -MAX_ERRORS_KEPT}
            },
        },
    )
    return result.modified_count == 1


async def mark_failed(
    uow: UnitOfWork,
    claimed: dict[str, Any],
    *,
    code: int | None,
    error: str,
    permanent: bool,
    outcome_unknown: bool = False,
    expect: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Give the email up; ``expect`` adds conditions (the sweeper's view of the claim)."""
    return await uow.db[ACTIVITIES].find_one_and_update(
        {**_claim(claimed), "status": "sending", **(expect or {})},
        {
            "$set": {
                **_RELEASED,
                "status": "failed",
                "failed_at": now(),
                "last_error": error[:1000],
                "outcome_unknown": outcome_unknown,
            },
            "$unset": _DONE,
            "$push": {
                "errors": {"$each": [_error(claimed["attempts"], code, error, permanent)], "$slice": -MAX_ERRORS_KEPT}
            },
        },
        return_document=ReturnDocument.AFTER,
        session=uow.session,
    )


async def expired_claims(db: AsyncDatabase[dict[str, Any]], *, limit: int = 100) -> list[dict[str, Any]]:
    """Emails whose worker stopped (or stalled) past its lease."""
    return await db[ACTIVITIES].find({"status": "sending", "lease_until": {"$lt": now()}}).limit(limit).to_list()


async def requeue_expired(
    db: AsyncDatabase[dict[str, Any]], claimed: dict[str, Any], *, error: str, retry_in: float
) -> bool:
    """A claim that ran out before DATA: nothing reached the server, so it may be sent again."""
    result = await db[ACTIVITIES].update_one(
        {**_claim(claimed), "status": "sending", "phase": "claimed", "lease_until": {"$lt": now()}},
        {
            "$set": {
                **_RELEASED,
                "status": "queued",
                "next_attempt_at": now() + timedelta(seconds=retry_in),
                "last_error": error,
            },
            "$push": {
                "errors": {"$each": [_error(claimed["attempts"], None, error, False)], "$slice": -MAX_ERRORS_KEPT}
            },
        },
    )
    return result.modified_count == 1


async def sending_count(db: AsyncDatabase[dict[str, Any]]) -> int:
    return await db[ACTIVITIES].count_documents({"status": {"$in": ["queued", "sending"]}})


# --- activities: merges (C13) and privacy requests (C18) -------------------------------------------

MERGES = "merges"


async def move_to_survivor(
    uow: UnitOfWork,
    *,
    merge_id: str,
    merged_code: str,
    survivor_code: str,
) -> None:
    """A merge: the merged customer's activities go to the survivor, each keeping where it came
    from (``merged_from``) so the unmerge moves exactly those back; the merge is noted."""
    await uow.db[ACTIVITIES].update_many(
        {"customer_code": merged_code},
        {
            "$set": {"customer_code": survivor_code},
            "$push": {"merged_from": {"merge_id": merge_id, "customer_code": merged_code}},
        },
        session=uow.session,
    )
    await uow.db[MERGES].insert_one(
        {"_id": merge_id, "survivor_code": survivor_code, "merged_code": merged_code}, session=uow.session
    )


async def merge_applied(uow: UnitOfWork, merge_id: str) -> bool:
    """Whether this merge was applied here: an unmerge that overtook its merge waits for it.
    Asked in the unmerge's transaction: a plain read sees a merge as soon as it is written,
    the transaction's snapshot a moment later, and an unmerge that moved nothing back would
    still be recorded as applied."""
    return await uow.db[MERGES].find_one({"_id": merge_id}, {"_id": 1}, session=uow.session) is not None


async def move_back_merged(uow: UnitOfWork, *, merge_id: str, merged_code: str) -> None:
    """An unmerge: the activities this merge moved go back to the merged customer."""
    await uow.db[ACTIVITIES].update_many(
        {"merged_from.merge_id": merge_id},
        {"$set": {"customer_code": merged_code}, "$pull": {"merged_from": {"merge_id": merge_id}}},
        session=uow.session,
    )


async def reassign_order_activities(
    uow: UnitOfWork,
    *,
    from_code: str,
    to_code: str,
    orders: list[OrderSummary],
) -> None:
    """Orders that went to another customer take their emails along (order-sync's
    ``OrdersReassigned``: orders that reached the survivor since the merge but were B's).
    ``orders`` is not empty."""
    of_orders = [{"order.source_system": o.source_system, "order.order_number": o.order_number} for o in orders]
    await uow.db[ACTIVITIES].update_many(
        {"customer_code": from_code, "$or": of_orders}, {"$set": {"customer_code": to_code}}, session=uow.session
    )


async def customer_activities(db: AsyncDatabase[dict[str, Any]], customer_code: str) -> list[dict[str, Any]]:
    """Every activity of a customer, oldest first, for a privacy export."""
    return await db[ACTIVITIES].find({"customer_code": customer_code}).sort("created_at", 1).to_list()


async def erase_customer_activities(
    uow: UnitOfWork, customer_code: str, *, at: datetime, erased: str
) -> tuple[int, int]:
    """A privacy erasure: the customer's emails not sent yet are given up, and every activity's
    content and address replaced by ``erased`` (delivery errors, which may quote the address,
    go); the activities stay. Returns (activities erased, emails cancelled)."""
    mine = {"customer_code": customer_code, "erased": {"$ne": True}}
    cancelled = await uow.db[ACTIVITIES].update_many(
        {**mine, "status": "queued"},
        {
            "$set": {
                "status": "failed",
                "failed_at": at,
                "next_attempt_at": None,
                "last_error": "not sent: the customer was erased",
            }
        },
        session=uow.session,
    )
    result = await uow.db[ACTIVITIES].update_many(
        mine,
        {
            "$set": {"to": erased, "subject": erased, "html": "", "text": "", "errors": [], "erased": True},
            "$unset": {"sealed": ""},
        },
        session=uow.session,
    )
    return result.modified_count, cancelled.modified_count
