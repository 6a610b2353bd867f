"""A stand-in SWH loader for the autoscaling box: a real Celery app whose tasks sleep and record completion.

The bridge (test/rig/box/bridge.ts) starts one worker per Running loader pod with the pod's own settings (broker,
queues, concurrency, max tasks per child from its ConfigMap and Secret), the way SWH runs loaders: early ack,
prefetch 1, -Ofair, then the Celery settings of the pod's config.yml (BOX_CELERY_SETTINGS), as swh.scheduler's app
adds them; like the image's worker app, it loads the image's deletion-cost module (swh_elastic_deletion_cost, on
PYTHONPATH), so a busy worker's pod is marked costly to delete and a task reaching a pod being deleted goes back
to its queue; a ScaledJob's pod (BOX_WORKER_MODE=oneshot) runs one task and exits, as the image's oneshot app.
Tests publish with `python -m swh_box_loader publish`.
"""

import json
import os
import sys
import time

from celery import Celery

app = Celery("swh-box-loader", broker=os.environ.get("BOX_BROKER_URL", "amqp://"))
app.conf.update(
    # swh.scheduler's defaults: a task is acknowledged when received (early ack) and each process reserves one.
    task_acks_late=False,
    worker_prefetch_multiplier=1,
    task_create_missing_queues=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_serializer="json",
)
# What the loader's config.yml says (delivery, time limit), over those defaults.
app.conf.update(json.loads(os.environ.get("BOX_CELERY_SETTINGS", "{}")))

ONESHOT = os.environ.get("BOX_WORKER_MODE") == "oneshot"

# A Deployment pod's worker (publishing from a test has no pod to mark; a Job's pod is never scaled down).
if os.environ.get("BOX_POD") and not ONESHOT:
    from swh_elastic_deletion_cost import steer_scale_downs

    steer_scale_downs(app.Task)

if ONESHOT:
    # A ScaledJob's pod: one task, then stop, with the image's own module (swh_elastic_oneshot loads it into
    # swh.scheduler's app, which this venv has not).
    from swh_elastic_one_task import one_task_per_worker

    one_task_per_worker(app, float(os.environ.get("ONESHOT_IDLE_SECONDS", "60")))

RECORD = os.environ.get("BOX_TASK_RECORD", "")
POD = os.environ.get("BOX_POD", "")
# While a task runs, <pod>.<pid> exists (one per worker process, as a pod may run several): the bridge then
# reports the pod busy (its CPU request) to kwok's metrics, and records a stop as a busy worker's.
BUSY_DIR = os.environ.get("BOX_BUSY_DIR", "/tmp")


def load(task_id: str, seconds: float) -> str:
    """Sleeps like a loader visiting an origin, then appends {task, pod, started, finished} to the record."""
    started = time.time()
    busy = os.path.join(BUSY_DIR, f"{POD or 'none'}.{os.getpid()}")
    open(busy, "w").close()
    try:
        time.sleep(seconds)
    finally:
        os.unlink(busy)
    line = json.dumps({"task": task_id, "pod": POD, "started": started, "finished": time.time()}) + "\n"
    fd = os.open(RECORD, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one write on an O_APPEND file: lines never interleave
    finally:
        os.close(fd)
    return task_id


def task_name(queue: str) -> str:
    """SWH routes a task to the queue of its name; `save_code_now:<task>` queues carry the same task."""
    return queue.split(":")[-1]


for name in sorted({task_name(q) for q in os.environ.get("BOX_QUEUES", "").split(",") if q}):
    app.task(name=name)(load)


def publish(argv: list[str]) -> None:
    """publish QUEUE COUNT SECONDS PREFIX [FIRST]: sends COUNT tasks named PREFIX-<i> (i from FIRST, default 0)
    that sleep SECONDS."""
    queue, count, seconds, prefix = argv[0], int(argv[1]), float(argv[2]), argv[3]
    first = int(argv[4]) if len(argv) > 4 else 0
    with app.connection_for_write() as conn:
        for i in range(first, first + count):
            app.send_task(task_name(queue), args=[f"{prefix}-{i}", seconds], queue=queue, connection=conn)


def declare(queues: list[str]) -> None:
    """declare QUEUE...: creates the durable queues, as a scheduler does before KEDA polls them."""
    with app.connection_for_write() as conn:
        for q in queues:
            app.amqp.queues.select_add(q)
            app.amqp.queues[q].bind(conn.default_channel).declare()


def purge(queues: list[str]) -> None:
    """purge QUEUE...: drops the queues' ready messages (a test's clean start)."""
    with app.connection_for_write() as conn:
        for q in queues:
            conn.default_channel.queue_purge(q)


if __name__ == "__main__":
    {"publish": publish, "declare": declare, "purge": purge}[sys.argv[1]](sys.argv[2:])
