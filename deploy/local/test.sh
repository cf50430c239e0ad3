#!/usr/bin/env bash
# The README's test command: set up Python and the real servers, then run every test.
# Servers this run had to start are stopped again at the end (OMS_KEEP_STACK=1 keeps them).
# Extra arguments go to pytest, e.g. `deploy/local/test.sh tests/unit -x`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

before=$(ls "$STACK/run"/started-* 2>/dev/null || true)
cleanup() {
    [ "${OMS_KEEP_STACK:-0}" = 1 ] && return
    for marker in "$STACK/run"/started-*; do
        [ -e "$marker" ] || continue
        grep -qxF "$marker" <<<"$before" && continue   # started earlier, by `stack.sh up`
        case "${marker##*/started-}" in
            smtp) stop_smtp ;; mongodb) stop_mongodb ;; rabbitmq) stop_rabbitmq ;;
        esac
    done
}
trap cleanup EXIT

if [ "${OMS_TESTCONTAINERS:-}" != 0 ] && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    say "a Docker engine answers: the tests start their servers with testcontainers"
    export OMS_TESTCONTAINERS=1
    ensure_venv
else
    export OMS_TESTCONTAINERS=0
    stack_up
fi
ensure_chromium
# Lint first: a finding fails the run before twelve minutes of tests (OMS_LINT=0 skips it).
[ "${OMS_LINT:-1}" = 0 ] || bash "$(dirname "${BASH_SOURCE[0]}")/lint.sh"
cd "$ROOT"
# The cluster fault tests run when asked for (OMS_CLUSTER_TESTS=1): in a full run on a loaded
# two-core machine the intake-leader kill still failed once (a publish not confirmed within its
# minute while the queue had no quorum), so CI leaves them out until that is settled.
cluster_tests="${OMS_CLUSTER_TESTS:-0}"
if [ "$cluster_tests" = 1 ]; then
    # The cluster starts (about a minute) while the main run goes on; its tests wait for it.
    cluster_was_up=0; listening "$((${OMS_CLUSTER_AMQP_BASE:-5680} + 1))" && cluster_was_up=1
    mkdir -p "$STACK/logs"
    timeout 300 bash "$ROOT/deploy/local/cluster.sh" up >"$STACK/logs/cluster-up.log" 2>&1 &
    cluster_up=$!
fi
status=0
# OMS_TEST_WORKERS=2 shares the test files out to two worker processes (pytest-xdist; --dist
# loadfile keeps a file's tests, and its module fixtures, on one worker): 8.5 min instead of
# about 11, but four tests are not yet independent of what runs beside them, so one process
# is the default.
workers="${OMS_TEST_WORKERS:-1}"
parallel=()
[ "$workers" -gt 1 ] && parallel=(-n "$workers" --dist loadfile)
if [ $# -eq 0 ] && [ "$workers" -eq 1 ]; then
    # The whole suite: the unit tests need no servers and share both cores (about a minute
    # saved), then everything else in one process.
    "$PY" -m pytest -n 2 tests/unit || status=$?
    "$PY" -m pytest --ignore=tests/unit || status=$?
else
    "$PY" -m pytest "${parallel[@]}" "$@" || status=$?
fi

# The cluster fault tests (issue 23, pytest -m cluster): a job of their own after the main run,
# bounded (OMS_CLUSTER_TIMEOUT, 300 s), with OMS_CLUSTER_TESTS=1. The cluster is stopped at
# the end if this run started it.
if [ "$cluster_tests" = 1 ]; then
    limit="${OMS_CLUSTER_TIMEOUT:-300}"
    wait "$cluster_up" || say "cluster.sh up failed in the background (the tests start it again); see $STACK/logs/cluster-up.log"
    say "cluster fault tests: at most ${limit}s on the cluster of deploy/local/cluster.sh"
    cluster_status=0
    timeout --kill-after=20 "$limit" "$PY" -m pytest -m cluster tests/cluster -p no:cacheprovider -q -s \
        || cluster_status=$?
    [ "$cluster_status" -ne 124 ] || say "cluster fault tests: stopped at the ${limit}s limit"
    [ "$cluster_was_up" = 1 ] || bash "$ROOT/deploy/local/cluster.sh" down
    [ "$status" -ne 0 ] || status=$cluster_status
fi
exit "$status"
