# The local cluster (issue 23): three RabbitMQ nodes joined in one cluster and a three-member
# MongoDB replica set, all on this machine, beside (never instead of) the single-node stack of
# lib.sh. Same binaries (Debian's rabbitmq-server, the stack's mongod 6.0), other node names,
# ports and folders: everything lives under deploy/local/.cluster (git-ignored by a
# .gitignore it writes itself), nothing of .stack is read or written but the mongod binary.
# shellcheck shell=bash

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
say() { printf '\033[1m[cluster %s]\033[0m %s\n' "$(date +%T)" "$*" >&2; }
die() { printf '\033[31m[cluster] %s\033[0m\n' "$*" >&2; exit 1; }

CLUSTER="${OMS_CLUSTER_DIR:-$ROOT/deploy/local/.cluster}"
RABBITMQ_BIN="${OMS_RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}"
CLUSTER_NODES=(1 2 3)
CLUSTER_AMQP_BASE="${OMS_CLUSTER_AMQP_BASE:-5680}"      # oms1: 5681, oms2: 5682, oms3: 5683
CLUSTER_DIST_BASE="${OMS_CLUSTER_DIST_BASE:-25680}"     # Erlang distribution: 25681..25683
CLUSTER_MONGODB_BASE="${OMS_CLUSTER_MONGODB_BASE:-27030}"  # 27031..27033
CLUSTER_REPLSET="rsc"
# Small servers on a small machine: one Erlang scheduler each, no busy-waiting, a small cache.
CLUSTER_ERL_ARGS="+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none"
CLUSTER_MONGODB_CACHE_GB="0.25"

amqp_port() { echo $((CLUSTER_AMQP_BASE + $1)); }
mongodb_port() { echo $((CLUSTER_MONGODB_BASE + $1)); }
node_name() { echo "oms$1@localhost"; }

cluster_amqp_url() {  # every node, comma-separated (plumbing.settings.ServiceSettings.amqp_urls)
    local i urls=()
    for i in "${CLUSTER_NODES[@]}"; do urls+=("amqp://guest:guest@127.0.0.1:$(amqp_port "$i")/"); done
    (IFS=,; echo "${urls[*]}")
}

cluster_mongodb_url() {  # the seed list; the driver finds the primary itself
    local i hosts=()
    for i in "${CLUSTER_NODES[@]}"; do hosts+=("127.0.0.1:$(mongodb_port "$i")"); done
    (IFS=,; echo "mongodb://${hosts[*]}/?replicaSet=$CLUSTER_REPLSET")
}

# --- RabbitMQ --------------------------------------------------------------------------

rabbit() {  # rabbit N COMMAND...: run COMMAND with node N's environment
    local i=$1; shift
    local base="$CLUSTER/rabbitmq/oms$i"
    # HOME holds the Erlang cookie all three nodes and rabbitmqctl share.
    env HOME="$CLUSTER/rabbitmq" \
        RABBITMQ_NODENAME="$(node_name "$i")" \
        RABBITMQ_NODE_PORT="$(amqp_port "$i")" \
        RABBITMQ_DIST_PORT=$((CLUSTER_DIST_BASE + i)) \
        RABBITMQ_MNESIA_BASE="$base/mnesia" \
        RABBITMQ_LOG_BASE="$base/log" \
        RABBITMQ_CONFIG_FILE="$base/rabbitmq" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" \
        RABBITMQ_CONF_ENV_FILE="$base/rabbitmq-env.conf" \
        RABBITMQ_PID_FILE="$base/rabbitmq.pid" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$CLUSTER_ERL_ARGS" \
        ERL_EPMD_ADDRESS=127.0.0.1 \
        "$@"
}

rabbitmqctl_on() {  # rabbitmqctl_on N ARGS...
    local i=$1; shift
    rabbit "$i" "$RABBITMQ_BIN/rabbitmqctl" -n "$(node_name "$i")" "$@"
}

prepare_rabbit_node() {
    local i=$1 base="$CLUSTER/rabbitmq/oms$i"
    mkdir -p "$base/log" "$base/mnesia"
    # The management plugin is off: no HTTP port to keep apart, less to start.
    echo "[]." >"$base/enabled_plugins"
    : >"$base/rabbitmq-env.conf"
    cat >"$base/rabbitmq.conf" <<EOF
listeners.tcp.local = 127.0.0.1:$(amqp_port "$i")
EOF
}

ensure_cookie() {
    local cookie="$CLUSTER/rabbitmq/.erlang.cookie"
    mkdir -p "$CLUSTER/rabbitmq"
    if [ ! -s "$cookie" ]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$cookie")
    fi
    chmod 400 "$cookie"
}

rabbit_running() { listening "$(amqp_port "$1")"; }

start_rabbit_node() {
    local i=$1
    prepare_rabbit_node "$i"
    say "RabbitMQ $(node_name "$i"): starting on 127.0.0.1:$(amqp_port "$i")"
    rabbit "$i" "$RABBITMQ_BIN/rabbitmq-server" -detached
}

await_rabbit_node() {
    local i=$1 deadline=$((SECONDS + 120))
    # await_startup fails until the node's distribution port answers: try again until then.
    until rabbitmqctl_on "$i" -q await_startup --timeout 120 >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "RabbitMQ $(node_name "$i") did not start; see $CLUSTER/rabbitmq/oms$i/log"
        sleep 1
    done
}

rabbit_in_cluster() {  # is node N running in one cluster with node 1?
    rabbitmqctl_on "$1" -q cluster_status --formatter json 2>/dev/null \
        | "$PY" -c "import json,sys; s=json.load(sys.stdin); sys.exit('$(node_name 1)' not in s['running_nodes'])"
}

ensure_rabbitmq_binaries() {  # Debian's rabbitmq-server, as lib.sh installs it (not started)
    [ -x "$RABBITMQ_BIN/rabbitmq-server" ] && return
    say "RabbitMQ: installing Debian's rabbitmq-server"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq rabbitmq-server >/dev/null
}

ensure_rabbit_cluster() {
    local i started=()
    ensure_rabbitmq_binaries
    ensure_cookie
    for i in "${CLUSTER_NODES[@]}"; do
        if rabbit_running "$i"; then say "RabbitMQ $(node_name "$i"): reusing the node on :$(amqp_port "$i")"
        else start_rabbit_node "$i"; started+=("$i"); fi
    done
    # Started together: a node that was clustered before waits for its peers as it boots.
    for i in "${started[@]}"; do await_rabbit_node "$i"; say "RabbitMQ $(node_name "$i"): started"; done
    for i in "${CLUSTER_NODES[@]:1}"; do
        # A node found running was joined by the `up` that started it: only those started now
        # are asked (each rabbitmqctl boots an Erlang VM: seconds on a loaded machine).
        [[ " ${started[*]} " == *" $i "* ]] || continue
        rabbit_in_cluster "$i" && continue
        say "RabbitMQ $(node_name "$i"): joining $(node_name 1)"
        {   # (join_cluster logs harmless errors about the node's own stopped app)
            rabbitmqctl_on "$i" -q stop_app && rabbitmqctl_on "$i" -q join_cluster "$(node_name 1)" \
                && rabbitmqctl_on "$i" -q start_app
        } >>"$CLUSTER/rabbitmq/oms$i/log/join.log" 2>&1 || die "$(node_name "$i") did not join; see $CLUSTER/rabbitmq/oms$i/log"
        await_rabbit_node "$i"
    done
    say "RabbitMQ: ${#CLUSTER_NODES[@]} nodes running in one cluster"
}

stop_rabbit_node() {
    local i=$1 pid
    pid=$(cat "$CLUSTER/rabbitmq/oms$i/rabbitmq.pid" 2>/dev/null || true)
    if rabbit_running "$i" || { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }; then
        say "RabbitMQ $(node_name "$i"): stopping"
        rabbit "$i" timeout 30 "$RABBITMQ_BIN/rabbitmqctl" -n "$(node_name "$i")" -q stop >/dev/null 2>&1 \
            || { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; } || true
    fi
}

stop_rabbit_cluster() {
    local i
    for i in "${CLUSTER_NODES[@]}"; do stop_rabbit_node "$i" & done
    wait
}

# --- MongoDB ---------------------------------------------------------------------------

mongod_pid_file() { echo "$CLUSTER/mongodb/m$1/mongod.pid"; }

start_mongod() {
    local i=$1 dir="$CLUSTER/mongodb/m$i"
    mkdir -p "$dir/data"
    say "MongoDB member $i: starting on 127.0.0.1:$(mongodb_port "$i")"
    # A worker killed inside a transaction holds its locks until transactionLifetimeLimitSeconds.
    # Dropped collections' files are deleted once out of the snapshot history (lib.sh: ensure_mongodb).
    # Test commands: the fault tests inject a failover's errors with the failCommand fail point.
    "$(mongod_binary)" --replSet "$CLUSTER_REPLSET" --bind_ip 127.0.0.1 --port "$(mongodb_port "$i")" \
        --dbpath "$dir/data" --logpath "$dir/mongod.log" --logappend --pidfilepath "$(mongod_pid_file "$i")" \
        --wiredTigerCacheSizeGB "$CLUSTER_MONGODB_CACHE_GB" \
        --setParameter diagnosticDataCollectionEnabled=false \
        --setParameter transactionLifetimeLimitSeconds=10 \
        --setParameter minSnapshotHistoryWindowInSeconds=10 \
        --setParameter enableTestCommands=1 \
        --fork >/dev/null || die "mongod $i did not start; see $dir/mongod.log"
}

ensure_mongodb_replica_set() {
    local i
    ensure_libssl11
    ensure_mongod_binary
    for i in "${CLUSTER_NODES[@]}"; do
        if listening "$(mongodb_port "$i")"; then say "MongoDB member $i: reusing the mongod on :$(mongodb_port "$i")"
        else start_mongod "$i"; fi
    done
    "$PY" "$ROOT/deploy/local/cluster_replica_set.py" init --name "$CLUSTER_REPLSET" \
        --ports "$(for i in "${CLUSTER_NODES[@]}"; do mongodb_port "$i"; done | paste -sd,)" \
        || die "the MongoDB replica set $CLUSTER_REPLSET has no primary"
    say "MongoDB replica set $CLUSTER_REPLSET: has a primary"
}

stop_mongod() {
    local i=$1 pid
    pid=$(cat "$(mongod_pid_file "$i")" 2>/dev/null || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    say "MongoDB member $i: stopping"
    kill "$pid" 2>/dev/null || true
    wait_for 30 "mongod $i exit" bash -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null || true
}

stop_mongodb_replica_set() {
    local i
    for i in "${CLUSTER_NODES[@]}"; do stop_mongod "$i" & done
    wait
}

# --- all together ----------------------------------------------------------------------

cluster_up() {
    ensure_venv
    mkdir -p "$CLUSTER"
    echo '*' >"$CLUSTER/.gitignore"   # never committed, never linted
    ensure_mongodb_replica_set &      # the two start side by side
    local mongo=$!
    ensure_rabbit_cluster
    wait "$mongo" || die "the MongoDB replica set did not come up"
}

cluster_down() {
    # Side by side: one after the other took two minutes at the end of a CI run. Throwaway
    # servers: a RabbitMQ node slower than 30 s to stop is killed, and the next `up` starts
    # from empty folders.
    stop_rabbit_cluster &
    stop_mongodb_replica_set
    wait
    rm -rf "$CLUSTER/rabbitmq" "$CLUSTER/mongodb"
}

cluster_status() {
    local i state
    for i in "${CLUSTER_NODES[@]}"; do
        if rabbit_running "$i"; then state=up; else state=down; fi
        printf '  RabbitMQ %-15s 127.0.0.1:%-6s %s\n' "$(node_name "$i")" "$(amqp_port "$i")" "$state"
    done
    for i in "${CLUSTER_NODES[@]}"; do
        if listening "$(mongodb_port "$i")"; then state=up; else state=down; fi
        printf '  MongoDB  %-15s 127.0.0.1:%-6s %s\n' "member $i" "$(mongodb_port "$i")" "$state"
    done
    for i in "${CLUSTER_NODES[@]}"; do
        rabbit_running "$i" || continue
        printf '\n  RabbitMQ cluster, as %s sees it:\n' "$(node_name "$i")"
        rabbitmqctl_on "$i" -q cluster_status --formatter json 2>/dev/null | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
print("    members:", " ".join(sorted(s["disk_nodes"] + s.get("ram_nodes", []))))
print("    running:", " ".join(sorted(s["running_nodes"])))
print("    partitions:", s.get("partitions") or "none")' || echo "    (no answer)"
        break
    done
    printf '\n  MongoDB replica set %s:\n' "$CLUSTER_REPLSET"
    "$PY" "$ROOT/deploy/local/cluster_replica_set.py" status --name "$CLUSTER_REPLSET" \
        --ports "$(for i in "${CLUSTER_NODES[@]}"; do mongodb_port "$i"; done | paste -sd,)" || true
    printf '\n  OMS_AMQP_URL=%s\n  OMS_MONGODB_URL=%s\n' "$(cluster_amqp_url)" "$(cluster_mongodb_url)"
}
