"""O2 over real MongoDB: the identity index follows the code. A customer indexed by an
earlier release (without a key this one derives) is indexed under it when order-sync
starts, once: a customer who does not order again is still found by it."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from order_sync import reindexing, store
from order_sync.app import create_app as order_sync_app
from plumbing.settings import ServiceSettings

from ...support import Cleanup, eventually, running
from .test_order_sync import order_db  # noqa: F401

#: A customer as an earlier release stored it: a phone with an extension, indexed by the
#: whole number only (this release also indexes its line without the extension), and an
#: erased customer's tombstone, which gains nothing.
EARLIER = {
    "_id": "C77",
    "version": 3,
    "scope_id": "us",
    "state": "active",
    "record": {"emails": [], "phones": ["+12125550147;ext=12"], "names": [["jean", "dupont"]], "postals": ["10001"]},
    "index_keys": ["ph:+12125550147;ext=12", "np:dupont jean|10001", "lp:dupont|10001"],
}
ERASED = {"_id": "C78", "version": 2**62, "scope_id": "us", "state": "erased", "addresses": [], "record": {}}


async def test_o2_a_customer_indexed_by_an_earlier_release_gains_this_release_s_keys_at_the_start(
    settings: ServiceSettings, cleanup: Cleanup, order_db: AsyncDatabase
) -> None:
    await order_db[store.CUSTOMERS].insert_many([dict(EARLIER), dict(ERASED)])
    await order_db[store.IDENTIFIERS].insert_one({"_id": "us|ph:+12125550147;ext=12", "codes": ["C77"]})
    missing = reindexing.missing_keys(EARLIER)
    assert "ph:+12125550147" in missing, missing  # the line, as Identity.blocking_keys asks for it

    async def reindexed() -> Any:
        return await order_db[store.META].find_one({"_id": "identity_index"})

    async with running(order_sync_app(settings), cleanup=cleanup):
        marker = await eventually(reindexed, timeout=30)
    assert (marker["fingerprint"], marker["customers_reindexed"]) == (reindexing.fingerprint(), 1)
    customer = await order_db[store.CUSTOMERS].find_one({"_id": "C77"})
    assert set(customer["index_keys"]) >= set(EARLIER["index_keys"]) | set(missing)
    for key in missing:
        entry = await order_db[store.IDENTIFIERS].find_one({"_id": f"us|{key}"})
        assert entry is not None and entry["codes"] == ["C77"], (key, entry)
    assert await order_db[store.IDENTIFIERS].count_documents({"codes": "C78"}) == 0
    # Brought up to these keys, the next start reads no customer.
    await order_db[store.CUSTOMERS].update_one({"_id": "C77"}, {"$set": {"index_keys": EARLIER["index_keys"]}})
    async with running(order_sync_app(settings), cleanup=cleanup):
        assert await reindexing.reindex_needed(order_db) is False
    customer = await order_db[store.CUSTOMERS].find_one({"_id": "C77"})
    assert customer["index_keys"] == EARLIER["index_keys"]
