"""The local cluster's MongoDB replica set (deploy/local/cluster.sh): initiate it once over
its three mongods and wait for a primary (``init``), or print its members (``status``)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

#: A lost primary is replaced after this long without its heartbeats (MongoDB's default is
#: 10 s; the fault tests measure recovery, and the cluster runs on one quiet machine).
ELECTION_TIMEOUT_MS = 5000


def direct(port: int) -> MongoClient[dict[str, Any]]:
    return MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=3000)


def init(name: str, ports: list[int], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    first = direct(ports[0])
    while True:  # a mongod just forked may not answer yet
        try:
            hello = first.admin.command("hello")
            break
        except PyMongoError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    if "setName" not in hello:
        config = {
            "_id": name,
            "members": [{"_id": i, "host": f"127.0.0.1:{port}"} for i, port in enumerate(ports)],
            "settings": {"electionTimeoutMillis": ELECTION_TIMEOUT_MS},
        }
        try:
            first.admin.command("replSetInitiate", config)
        except OperationFailure as exc:
            if exc.code != 23:  # AlreadyInitialized: another `up` got there first
                raise
    elif hello["setName"] != name:
        print(f"mongod on port {ports[0]} is in replica set {hello['setName']!r}, not {name!r}", file=sys.stderr)
        return 1
    seeds = ",".join(f"127.0.0.1:{port}" for port in ports)
    client: MongoClient[dict[str, Any]] = MongoClient(
        f"mongodb://{seeds}/?replicaSet={name}", serverSelectionTimeoutMS=3000
    )
    while time.monotonic() < deadline:
        try:
            status = client.admin.command("replSetGetStatus")
            states = [member["stateStr"] for member in status["members"]]
            if states.count("PRIMARY") == 1 and states.count("SECONDARY") == len(ports) - 1:
                return 0
        except PyMongoError:
            pass
        time.sleep(0.3)
    print(f"replica set {name} has no primary and {len(ports) - 1} secondaries after {timeout:.0f}s", file=sys.stderr)
    return 1


def status(name: str, ports: list[int]) -> int:
    for port in ports:  # any member that answers knows the others
        try:
            members = direct(port).admin.command("replSetGetStatus")["members"]
        except PyMongoError:
            continue
        for member in members:
            print(f"    {member['name']:<18} {member['stateStr']:<10} health={member['health']:.0f}")
        return 0
    print("    (no member answers)")
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["init", "status"])
    parser.add_argument("--name", default="rsc")
    parser.add_argument("--ports", required=True, help="comma-separated, e.g. 27031,27032,27033")
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()
    ports = [int(port) for port in args.ports.split(",")]
    if args.action == "init":
        return init(args.name, ports, args.timeout)
    return status(args.name, ports)


if __name__ == "__main__":
    sys.exit(main())
