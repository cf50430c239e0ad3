#!/usr/bin/env bash
# The separate mongod of `python -m bench --huge` (10,000,000 customers): the stack's own
# mongod 6.0 binary, on a port and data directory of its own, a single-node replica set, so
# that loading and searching ten million customers never slows the shared stack's tests.
#
#   bash bench/huge_mongod.sh up      # start it (idempotent), niced: the load is heavy
#   bash bench/huge_mongod.sh down    # stop it; the data stays for the next run
#   bash bench/huge_mongod.sh status  # running? size of the data directory
#
# OMS_HUGE_DIR (default /work/huge-bench, outside the checkout), OMS_HUGE_MONGODB_PORT
# (default 27051), OMS_HUGE_CACHE_GB (WiredTiger cache, default 6).
# shellcheck shell=bash
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/deploy/local/lib.sh"

HUGE_DIR="${OMS_HUGE_DIR:-/work/huge-bench}"
HUGE_PORT="${OMS_HUGE_MONGODB_PORT:-27051}"
HUGE_REPLSET="huge"
HUGE_CACHE_GB="${OMS_HUGE_CACHE_GB:-6}"

case "${1:-status}" in
up)
    if listening "$HUGE_PORT"; then
        say "huge MongoDB: already listening on 127.0.0.1:$HUGE_PORT"
    else
        ensure_mongod_binary
        mkdir -p "$HUGE_DIR/mongodb"
        say "huge MongoDB: starting on 127.0.0.1:$HUGE_PORT, data in $HUGE_DIR/mongodb"
        # A 2 GB oplog: the load is ten million inserts; the default (5% of the disk) only costs disk.
        nice -n 10 "$(mongod_binary)" --replSet "$HUGE_REPLSET" --bind_ip 127.0.0.1 --port "$HUGE_PORT" \
            --dbpath "$HUGE_DIR/mongodb" --logpath "$HUGE_DIR/mongod.log" --logappend \
            --pidfilepath "$HUGE_DIR/mongod.pid" --wiredTigerCacheSizeGB "$HUGE_CACHE_GB" \
            --oplogSize 2048 --fork >/dev/null || die "mongod did not start; see $HUGE_DIR/mongod.log"
    fi
    "$PY" "$ROOT/deploy/local/replica_set.py" --port "$HUGE_PORT" --name "$HUGE_REPLSET" \
        || die "MongoDB on port $HUGE_PORT is not a usable replica set"
    echo "OMS_MONGODB_URL=mongodb://127.0.0.1:$HUGE_PORT/?replicaSet=$HUGE_REPLSET"
    ;;
down)
    pid=$(cat "$HUGE_DIR/mongod.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        say "huge MongoDB: stopping (pid $pid); data kept in $HUGE_DIR/mongodb"
        wait_for 120 "mongod exit" bash -c "! kill -0 $pid 2>/dev/null" || die "mongod $pid did not stop"
    fi
    rm -f "$HUGE_DIR/mongod.pid"
    ;;
status)
    if listening "$HUGE_PORT"; then say "huge MongoDB: running on 127.0.0.1:$HUGE_PORT"; else say "huge MongoDB: not running"; fi
    du -sh "$HUGE_DIR/mongodb" 2>/dev/null || true
    ;;
*) die "usage: bench/huge_mongod.sh up|down|status" ;;
esac
