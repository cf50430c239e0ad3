#!/usr/bin/env bash
# A local cluster for failover (issue 23): three RabbitMQ nodes (oms1..oms3@localhost, AMQP
# on 127.0.0.1:5681-5683) joined in one cluster, and a three-member MongoDB replica set rsc
# (127.0.0.1:27031-27033), beside the single-node stack (stack.sh), sharing nothing with it.
#   cluster.sh up      start what is not running, join the nodes, initiate the replica set
#                      (then the status, unless OMS_CLUSTER_QUIET is set)
#   cluster.sh status  the nodes, the RabbitMQ cluster's members and the replica set's primary
#   cluster.sh down    stop the cluster's servers and delete their data (only the cluster's)
#   cluster.sh env     print the OMS_* settings that point services at the cluster
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

case "${1:-up}" in
    up) cluster_up; [ -n "${OMS_CLUSTER_QUIET:-}" ] || cluster_status ;;
    status) cluster_status ;;
    down) cluster_down ;;
    env) printf 'export OMS_AMQP_URL=%q OMS_MONGODB_URL=%q\n' "$(cluster_amqp_url)" "$(cluster_mongodb_url)" ;;
    *) echo "usage: $0 up|status|down|env" >&2; exit 2 ;;
esac
