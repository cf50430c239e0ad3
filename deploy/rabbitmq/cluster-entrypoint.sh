#!/bin/bash
# A node of the three-node RabbitMQ cluster of compose.cluster.yaml: installs the cluster's
# shared Erlang cookie, then starts the node like compose.yaml does (render-definitions.sh).
#
# The cookie comes from the Docker secret /run/secrets/erlang_cookie or, failing that, from
# OMS_RABBITMQ_ERLANG_COOKIE (not RABBITMQ_ERLANG_COOKIE, which the image's entrypoint
# refuses as deprecated). Nodes and CLI tools only talk to each other with the same cookie.
#
#   cluster-entrypoint.sh                          install the cookie, start this node
#   cluster-entrypoint.sh --await NODE COUNT       install the cookie, wait until NODE's
#                                                  cluster runs COUNT nodes, exit (init job)
set -euo pipefail

if [ -r /run/secrets/erlang_cookie ]; then
    cookie=$(cat /run/secrets/erlang_cookie)
else
    cookie="${OMS_RABBITMQ_ERLANG_COOKIE:-}"
fi
if [ ${#cookie} -lt 20 ]; then
    echo "cluster-entrypoint: set OMS_RABBITMQ_ERLANG_COOKIE (20 characters or more) or the secret erlang_cookie" >&2
    exit 1
fi

install_cookie() {  # $1: the file, $2: its owner
    umask 077
    printf '%s' "$cookie" >"$1"
    chown "$2" "$1" 2>/dev/null || true
    chmod 400 "$1"
}

if [ "${1:-}" = "--await" ]; then
    install_cookie "$HOME/.erlang.cookie" "$(id -u)"
    exec rabbitmqctl --node "$2" --timeout 120 await_online_nodes "$3"
fi

install_cookie /var/lib/rabbitmq/.erlang.cookie rabbitmq:rabbitmq
exec bash /etc/rabbitmq/oms/render-definitions.sh
