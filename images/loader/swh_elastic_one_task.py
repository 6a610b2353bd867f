"""One task per worker, for KEDA ScaledJob pods (WORKER_MODE=oneshot): Celery has no such setting.

When its first task starts, the worker stops consuming its queues, so no other message reaches it: a warm
shutdown alone is not enough, as Celery's loop runs one more cycle after the request and the solo pool would
run the message that cycle delivers (seen in the box: each Job's pod ran two tasks). When the task ends, the
worker asks itself for a warm shutdown, and its pod completes. A worker that gets no task within
`idle_seconds` of being ready stops too: KEDA starts a Job per message it counted, another pod may have taken
it, and an idle pod would otherwise hold its slot until the Job's deadline.
"""

import os
import signal
import threading

from celery import bootsteps
from celery.signals import task_postrun, task_prerun, worker_ready


def one_task_per_worker(app, idle_seconds: float) -> None:
    """Makes the workers of `app` run one task, then stop (or stop after `idle_seconds` without one)."""
    state = {"consumer": None, "started": False}

    class KeepConsumer(bootsteps.StartStopStep):
        """Keeps the worker's consumer, whose queues the first task cancels."""

        requires = {"celery.worker.consumer.tasks:Tasks"}

        def start(self, c):
            state["consumer"] = c

    app.steps["consumer"].add(KeepConsumer)

    def stop():
        os.kill(os.getpid(), signal.SIGTERM)

    # weak=False: the receivers are closures, which nothing else keeps.
    @task_prerun.connect(weak=False)
    def _take_no_other(**_kwargs):
        state["started"] = True
        consumer = state["consumer"]
        if consumer is not None and consumer.task_consumer is not None:
            for queue in list(consumer.task_consumer.queues):
                consumer.cancel_task_queue(queue.name)

    @task_postrun.connect(weak=False)
    def _stop_after_it(**_kwargs):
        stop()

    @worker_ready.connect(weak=False)
    def _stop_if_idle(**_kwargs):
        def check():
            if not state["started"]:
                stop()

        timer = threading.Timer(idle_seconds, check)
        timer.daemon = True
        timer.start()
