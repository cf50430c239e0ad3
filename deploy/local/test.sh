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
"$PY" -m pytest "$@"
