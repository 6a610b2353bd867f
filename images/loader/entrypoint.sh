#!/bin/sh
# Starts one SWH Celery worker as PID 1, so the pod's preStop SIGTERM reaches Celery itself: one SIGTERM is a
# warm shutdown (running tasks finish), a second one would kill them.
set -eu

: "${SWH_WORKER_INSTANCE:?SWH_WORKER_INSTANCE must name the worker, e.g. loader-git}"
: "${SWH_CONFIG_FILENAME:?SWH_CONFIG_FILENAME must point at the worker config}"
CONCURRENCY=${CONCURRENCY:-1}
MAX_TASKS_PER_CHILD=${MAX_TASKS_PER_CHILD:-10}
SWH_LOG_LEVEL=${SWH_LOG_LEVEL:-INFO}

check_positive() {
    case "$2" in
        '' | *[!0-9]* | 0 | 0*)
            echo "$1 must be a positive whole number, got '$2'" >&2
            exit 64
            ;;
    esac
}
check_positive CONCURRENCY "$CONCURRENCY"
check_positive MAX_TASKS_PER_CHILD "$MAX_TASKS_PER_CHILD"
if ! [ -r "$SWH_CONFIG_FILENAME" ]; then
    echo "worker config $SWH_CONFIG_FILENAME is not readable" >&2
    exit 66
fi

# A new container has not been asked to stop: a witness left in /tmp (an emptyDir, kept across restarts) by an
# earlier container's preStop would make this one's preStop skip its SIGTERM.
if [ -n "${SWH_STOP_WITNESS:-}" ]; then rm -f "$SWH_STOP_WITNESS"; fi

# WORKER_MODE=oneshot (KEDA ScaledJob pods): one task in the worker process itself, then exit.
case "${WORKER_MODE:-worker}" in
    worker) app=swh_elastic_worker.app pool=prefork ;;
    oneshot) app=swh_elastic_oneshot.app pool=solo CONCURRENCY=1 ;;
    *)
        echo "WORKER_MODE must be worker or oneshot, got '$WORKER_MODE'" >&2
        exit 64
        ;;
esac

exec celery --app="$app" worker \
    --pool="$pool" \
    --concurrency="$CONCURRENCY" \
    --max-tasks-per-child="$MAX_TASKS_PER_CHILD" \
    -Ofair \
    --loglevel="$SWH_LOG_LEVEL" \
    --without-gossip \
    --without-mingle \
    --without-heartbeat \
    --hostname "$SWH_WORKER_INSTANCE@%h"
