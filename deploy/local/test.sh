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
# The cluster fault tests (issue 23: tests/cluster, pytest -m cluster) are a job of their own,
# bounded (OMS_CLUSTER_TIMEOUT, 900 s for the tests), on their own servers and ports
# (deploy/local/cluster.sh), started after the unit tests, beside the integration tests, and
# waited for at the end; the job stops the cluster when its tests end, if this run started it.
# They run with the whole suite (no pytest arguments given); OMS_CLUSTER_TESTS=0 leaves them
# out, OMS_CLUSTER_TESTS=1 adds them to a run given arguments.
if [ $# -gt 0 ]; then cluster_tests="${OMS_CLUSTER_TESTS:-0}"; else cluster_tests="${OMS_CLUSTER_TESTS:-1}"; fi
start_cluster_job() {
    if [ "$cluster_tests" = 1 ]; then
        cluster_was_up=0; listening "$((${OMS_CLUSTER_AMQP_BASE:-5680} + 1))" && cluster_was_up=1
        mkdir -p "$STACK/logs"
        cluster_log="$STACK/logs/cluster-tests.log"
        (
            timeout 300 bash "$ROOT/deploy/local/cluster.sh" up \
                || echo "cluster.sh up failed (the tests start it again)"
            timeout --kill-after=20 "${OMS_CLUSTER_TIMEOUT:-900}" \
                "$PY" -m pytest -m cluster tests/cluster -p no:cacheprovider -q -s -rfE
            cluster_tests_status=$?
            # Stopped here, beside the integration tests, not after them: stopping took two
            # minutes at the end of a fresh-clone CI (2026-12-06), and the `alone` tests should
            # have nothing beside them.
            [ "$cluster_was_up" = 1 ] || bash "$ROOT/deploy/local/cluster.sh" down
            exit "$cluster_tests_status"
        ) >"$cluster_log" 2>&1 &
        cluster_job=$!
    fi
}
status=0
# The machine's environment may set PYTHONDONTWRITEBYTECODE: then every pytest worker and every
# service process a test starts compiles the project afresh (0.1 s per process importing the
# services). __pycache__ is ignored by git.
unset PYTHONDONTWRITEBYTECODE
# Every test shares both cores (pytest-xdist): the integration tests mostly wait on servers,
# so two processes take less time than one (8.5 min instead of about 11, 08a2b51; the shared
# part at a load of 7 to 9 on 2026-12-04: 388 tests in 11.3 min). `--dist loadfile` keeps a file's
# tests and module fixtures on one worker; the files that kill, restart or time processes
# (marked `alone`, tests/integration/conftest.py) run last, with none of the others beside them.
# OMS_TEST_WORKERS=1 runs them in one process. A run given pytest arguments uses one unless
# told (the arguments may name files that must run alone).
if [ $# -gt 0 ]; then workers="${OMS_TEST_WORKERS:-1}"; else workers="${OMS_TEST_WORKERS:-2}"; fi
if [ $# -gt 0 ]; then
    parallel=()
    [ "$workers" -gt 1 ] && parallel=(-n "$workers" --dist loadfile)
    start_cluster_job
    "$PY" -m pytest "${parallel[@]}" "$@" || status=$?
elif [ "$workers" -gt 1 ]; then
    "$PY" -m pytest -n "$workers" --dist loadfile tests/unit || status=$?
    # After the unit tests: starting the cluster beside them took both cores (unit tests 35-38 s
    # in the fresh-clone CI against 26 s alone); beside the integration tests it costs nothing.
    start_cluster_job
    "$PY" -m pytest -n "$workers" --dist loadfile --ignore=tests/unit -m "not cluster and not alone" || status=$?
    # Two at a time, as the rest: they start servers and workers of their own and kill only
    # those, so they fit beside each other, not beside the shared tests' load (alone: 238 s,
    # two at a time 184 s, 2026-12-06).
    "$PY" -m pytest -n "$workers" --dist loadfile --ignore=tests/unit -m "alone" || status=$?
else
    "$PY" -m pytest -n 2 tests/unit || status=$?
    start_cluster_job
    "$PY" -m pytest --ignore=tests/unit || status=$?
fi

if [ "$cluster_tests" = 1 ]; then
    say "cluster fault tests: waiting for their job (log: $cluster_log)"
    cluster_status=0
    wait "$cluster_job" || cluster_status=$?
    cat "$cluster_log"
    [ "$cluster_status" -ne 124 ] || say "cluster fault tests: stopped at their time limit"
    [ "$status" -ne 0 ] || status=$cluster_status
fi
[ "$status" -eq 0 ] || stack_failure_report
exit "$status"
