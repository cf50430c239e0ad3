#!/usr/bin/env bash
# Run the three services on this machine against the local stack.
#   services.sh start   start each service (OMS_WORKERS=N worker processes each), wait until ready
#   services.sh stop    stop them (SIGTERM: in-flight messages finish or go back to their queue)
#   services.sh status  readiness of each
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=("customer:customer.app:create_app:8081" "notification:notification.app:create_app:8082"
          "order-sync:order_sync.app:create_app:8083")

start() {
    mkdir -p "$STACK/logs" "$STACK/run"
    ensure_link_key
    for entry in "${SERVICES[@]}"; do
        IFS=: read -r name module factory port <<<"$entry"
        if listening "$port"; then say "$name: already running on :$port"; continue; fi
        cd "$ROOT"
        nohup "$VENV/bin/faststream" run "$module:$factory" --factory \
            --host 127.0.0.1 --port "$port" --workers "${OMS_WORKERS:-1}" \
            >"$STACK/logs/$name.log" 2>&1 &
        echo $! >"$STACK/run/$name.pid"
    done
    for entry in "${SERVICES[@]}"; do
        IFS=: read -r name _ _ port <<<"$entry"
        wait_for 60 "$name" ready "$port" || die "$name did not become ready; see $STACK/logs/$name.log"
        say "$name: ready on http://127.0.0.1:$port (/health /ready /metrics), log $STACK/logs/$name.log"
    done
}

ready() { "$PY" -c "import sys,urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:$1/ready', timeout=2).status != 200)" 2>/dev/null; }

stop() {
    for entry in "${SERVICES[@]}"; do
        IFS=: read -r name _ _ _ <<<"$entry"
        pid=$(cat "$STACK/run/$name.pid" 2>/dev/null || true)
        [ -n "$pid" ] || continue
        kill -TERM "$pid" 2>/dev/null && wait_for 30 "$name stop" bash -c "! kill -0 $pid 2>/dev/null" \
            || kill -KILL "$pid" 2>/dev/null || true
        rm -f "$STACK/run/$name.pid"
        say "$name: stopped"
    done
}

status() {
    for entry in "${SERVICES[@]}"; do
        IFS=: read -r name _ _ port <<<"$entry"
        if ready "$port"; then s=ready; else s=down; fi
        printf '  %-13s :%s %s\n' "$name" "$port" "$s"
    done
}

case "${1:-status}" in start) start ;; stop) stop ;; status) status ;; *) echo "usage: $0 start|stop|status" >&2; exit 2 ;; esac
