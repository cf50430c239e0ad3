#!/usr/bin/env bash
# The local stack: RabbitMQ, MongoDB 6.0 (single-node replica set) and an SMTP capture server.
#   stack.sh up      install what is missing, start what is not running, print where each listens
#   stack.sh status  print where each listens and whether this checkout started it
#   stack.sh down    stop what this checkout started (servers that were already running stay)
#   stack.sh env     print the OMS_* settings to point services at the stack
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-up}" in
    up) stack_up; stack_status ;;
    status) stack_status ;;
    down) stack_down ;;
    env) ensure_link_key
        printf 'export OMS_AMQP_URL=%q OMS_MONGODB_URL=%q OMS_SMTP_HOST=%q OMS_SMTP_PORT=%q OMS_LINK_KEY=%q\n' \
            "$OMS_AMQP_URL" "$OMS_MONGODB_URL" "$OMS_SMTP_HOST" "$OMS_SMTP_PORT" "$OMS_LINK_KEY" ;;
    *) echo "usage: $0 up|status|down|env" >&2; exit 2 ;;
esac
