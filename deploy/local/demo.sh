#!/usr/bin/env bash
# The README's main job: the local stack, the three services, and a demo of orders arriving,
# customers matched and emails captured. `--keep` leaves everything running afterwards
# (stop it with `deploy/local/services.sh stop` and `deploy/local/stack.sh down`).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

keep=0; [ "${1:-}" = "--keep" ] && keep=1
before=$(ls "$STACK/run"/started-* 2>/dev/null || true)
cleanup() {
    [ $keep = 1 ] && { say "left running (--keep): services and stack"; return; }
    bash "$ROOT/deploy/local/services.sh" stop
    for marker in "$STACK/run"/started-*; do
        [ -e "$marker" ] || continue
        grep -qxF "$marker" <<<"$before" && continue
        case "${marker##*/started-}" in
            smtp) stop_smtp ;; mongodb) stop_mongodb ;; rabbitmq) stop_rabbitmq ;;
        esac
    done
}
trap cleanup EXIT

stack_up
bash "$ROOT/deploy/local/services.sh" start
cd "$ROOT"
"$PY" -m tools.demo
