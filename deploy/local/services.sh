#!/usr/bin/env bash
# Run the services on this machine against the local stack: the three services, the platform
# adapters (webhooks) and the gateway (HTTP API and CSR console).
#   services.sh start   start each service (OMS_WORKERS=N worker processes each), wait until ready
#   services.sh stop    stop them (SIGTERM: in-flight messages finish or go back to their queue)
#   services.sh status  readiness of each
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# name:module:factory:port:readiness path
SERVICES=("customer:customer.app:create_app:8081:/ready" "notification:notification.app:create_app:8082:/ready"
          "order-sync:order_sync.app:create_app:8083:/ready" "adapters:adapters.app:create_app:8084:/ready"
          "gateway:gateway.app:create_app:${OMS_GATEWAY_PORT:-8080}:/ready")

# The demo shop's webhook secret (Shopify), made once per checkout like the link key.
ensure_adapter_secret() {
    [ -n "${OMS_ADAPTERS_SHOPIFY_SECRET:-}" ] && return 0
    local file="$STACK/shopify-webhook-secret"
    [ -s "$file" ] || (umask 077 && "$PY" -c "import secrets; print(secrets.token_urlsafe(24))" >"$file")
    export OMS_ADAPTERS_SHOPIFY_SECRET=$(cat "$file")
    export OMS_ADAPTERS_SHOPIFY_SOURCE_SYSTEM="${OMS_ADAPTERS_SHOPIFY_SOURCE_SYSTEM:-shopify:demo}"
    export OMS_ADAPTERS_SHOPIFY_SCOPE="${OMS_ADAPTERS_SHOPIFY_SCOPE:-eu-fr}"
}

start() {
    mkdir -p "$STACK/logs" "$STACK/run"
    ensure_link_key
    ensure_adapter_secret
    for entry in "${SERVICES[@]}"; do
        IFS=: read -r name module factory port _ <<<"$entry"
        if listening "$port"; then say "$name: already running on :$port"; continue; fi
        cd "$ROOT"
        if [ "$name" = gateway ]; then
            # Plain http on 127.0.0.1: the session cookie cannot be https-only here.
            OMS_GATEWAY_COOKIE_SECURE="${OMS_GATEWAY_COOKIE_SECURE:-false}" nohup "$VENV/bin/uvicorn" \
                "$module:$factory" --factory --host 127.0.0.1 --port "$port" --no-proxy-headers \
                >"$STACK/logs/$name.log" 2>&1 &
        else
            nohup "$VENV/bin/faststream" run "$module:$factory" --factory \
                --host 127.0.0.1 --port "$port" --workers "${OMS_WORKERS:-1}" \
                >"$STACK/logs/$name.log" 2>&1 &
        fi
        echo $! >"$STACK/run/$name.pid"
    done
    for entry in "${SERVICES[@]}"; do
        IFS=: read -r name _ _ port path <<<"$entry"
        wait_for 60 "$name" ready "$port" "$path" || die "$name did not become ready; see $STACK/logs/$name.log"
        say "$name: ready on http://127.0.0.1:$port ($path), log $STACK/logs/$name.log"
    done
}

ready() { "$PY" -c "import sys,urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:$1${2:-/ready}', timeout=2).status != 200)" 2>/dev/null; }

stop() {
    for entry in "${SERVICES[@]}"; do
        IFS=: read -r name _ _ _ _ <<<"$entry"
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
        IFS=: read -r name _ _ port path <<<"$entry"
        if ready "$port" "$path"; then s=ready; else s=down; fi
        printf '  %-13s :%s %s\n' "$name" "$port" "$s"
    done
}

case "${1:-status}" in start) start ;; stop) stop ;; status) status ;; *) echo "usage: $0 start|stop|status" >&2; exit 2 ;; esac
