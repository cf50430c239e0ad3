"""Initiate a single-node replica set on a local mongod (once) and wait until it is primary."""

from __future__ import annotations

import argparse
import sys
import time

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument("--name", default="rs0")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    client = MongoClient(f"mongodb://127.0.0.1:{args.port}/?directConnection=true", serverSelectionTimeoutMS=5000)
    deadline = time.monotonic() + args.timeout
    hello = client.admin.command("hello")
    if "setName" not in hello:
        try:
            client.admin.command(
                "replSetInitiate",
                {"_id": args.name, "members": [{"_id": 0, "host": f"127.0.0.1:{args.port}"}]},
            )
        except OperationFailure as exc:
            if exc.code not in (23,):  # 23: AlreadyInitialized
                if "no replset config" in str(exc) or exc.code == 76:
                    print(
                        f"mongod on port {args.port} was not started with --replSet; "
                        "restart it with --replSet or stop it",
                        file=sys.stderr,
                    )
                    return 1
                raise
    elif hello["setName"] != args.name:
        print(
            f"mongod on port {args.port} is in replica set {hello['setName']!r}, expected {args.name!r}",
            file=sys.stderr,
        )
        return 1

    while time.monotonic() < deadline:
        try:
            if client.admin.command("hello").get("isWritablePrimary"):
                return 0
        except PyMongoError:
            pass
        time.sleep(0.3)
    print(f"mongod on port {args.port} did not become primary in {args.timeout:.0f}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
