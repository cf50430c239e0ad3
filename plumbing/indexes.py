"""Indexes as code: each service declares its indexes at startup, and a changed definition
replaces the old index of the same name (a deployment then needs no manual migration)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

log = logging.getLogger("oms.indexes")

_SPEC_CONFLICTS = {85, 86}  # IndexOptionsConflict, IndexKeySpecsConflict
_NOT_FOUND = 27


async def ensure_index(collection: AsyncCollection[Any], keys: Any, *, name: str, **options: Any) -> None:
    try:
        await collection.create_index(keys, name=name, **options)
    except OperationFailure as exc:
        if exc.code not in _SPEC_CONFLICTS:
            raise
        log.warning("index %s.%s changed definition: rebuilding it", collection.name, name)
        try:
            await collection.drop_index(name)
        except OperationFailure as drop:
            if drop.code != _NOT_FOUND:  # another worker of the service dropped it first
                raise
        await collection.create_index(keys, name=name, **options)


async def ensure_indexes(collection: AsyncCollection[Any], indexes: Sequence[IndexModel]) -> None:
    """Several indexes of one collection in one createIndexes command: one round trip, and on
    a collection with documents one scan builds them all. (Fifteen commands, one per index,
    were most of the customer service's start.) A changed definition among them fails the
    whole command: each is then ensured on its own, and the changed one replaced."""
    try:
        await collection.create_indexes(list(indexes))
    except OperationFailure as exc:
        if exc.code not in _SPEC_CONFLICTS:
            raise
        for index in indexes:
            options = dict(index.document)
            keys, name = options.pop("key"), options.pop("name")
            await ensure_index(collection, list(keys.items()), name=name, **options)


async def drop_index_if_present(collection: AsyncCollection[Any], name: str) -> None:
    """Drop an index an earlier version declared and this one no longer needs."""
    if name in await collection.index_information():
        try:
            await collection.drop_index(name)
        except OperationFailure as exc:
            if exc.code != _NOT_FOUND:  # another worker starting at once dropped it first
                raise
