#!/usr/bin/env bash
# The README's main job: the local stack, the three services (with the platform adapters and
# the gateway), and a demo of orders arriving, customers matched and emails captured.
# `--keep` leaves everything running afterwards, makes demo staff accounts (one per role, each
# password printed once) and ends with the CSR console's address, to see the demo's customers
# in a browser (stop it all with `deploy/local/services.sh stop` and `deploy/local/stack.sh down`).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

keep=0; [ "${1:-}" = "--keep" ] && keep=1
console="http://127.0.0.1:${OMS_GATEWAY_PORT:-8080}/"
before=$(ls "$STACK/run"/started-* 2>/dev/null || true)
cleanup() {
    [ $keep = 1 ] && { say "left running (--keep): services, gateway and stack; console at $console"; return; }
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
OMS_DEMO_SHOPIFY_SECRET_FILE="$STACK/shopify-webhook-secret" "$PY" -m tools.demo
if [ $keep = 1 ]; then "$PY" -m tools.demo_staff --console "$console"; fi
