#!/bin/bash
# Renders definitions.json with each user's password, then starts RabbitMQ.
#
# A password comes from the Docker secret /run/secrets/amqp_password_<user> (dashes as
# underscores) or, failing that, from OMS_AMQP_PASSWORD_<USER>. Nothing secret is in the
# repository: definitions.json holds ${OMS_AMQP_PASSWORD_<USER>} placeholders only.
#
#   render-definitions.sh                      render to $OUT, then exec the image's entrypoint
#   render-definitions.sh --render-only FILE   render to FILE and stop (used by the tests)
set -euo pipefail

SRC="${OMS_DEFINITIONS_TEMPLATE:-/etc/rabbitmq/oms/definitions.json}"
OUT="${OMS_DEFINITIONS_OUT:-/var/lib/rabbitmq/oms-definitions.json}"
render_only=0
if [ "${1:-}" = "--render-only" ]; then render_only=1; OUT="$2"; fi

content=$(cat "$SRC")
for user in $(grep -o '\${OMS_AMQP_PASSWORD_[A-Z_]*}' "$SRC" | sort -u | sed 's/^\${OMS_AMQP_PASSWORD_//; s/}$//'); do
    var="OMS_AMQP_PASSWORD_${user}"
    secret="/run/secrets/amqp_password_$(echo "$user" | tr 'A-Z' 'a-z')"
    if [ -r "$secret" ]; then
        value=$(cat "$secret")
    else
        value="${!var:-}"
    fi
    if [ -z "$value" ]; then
        echo "render-definitions: no password for ${user}: set ${var} or the secret ${secret}" >&2
        exit 1
    fi
    backslash='\' quote='"' placeholder="\${${var}}"
    value=${value//"$backslash"/"$backslash$backslash"}   # as a JSON string
    value=${value//"$quote"/"$backslash$quote"}
    content=${content//"$placeholder"/"$value"}
done

umask 077
printf '%s\n' "$content" >"$OUT"
if [ "$render_only" = 1 ]; then exit 0; fi
chown rabbitmq:rabbitmq "$OUT" 2>/dev/null || true
exec docker-entrypoint.sh rabbitmq-server
