"""Celery app for KEDA ScaledJob pods: SWH's app, but the worker runs one task, then stops.

With the solo pool the task runs in the worker process itself; swh_elastic_one_task stops its consuming when the
task starts and asks for a warm shutdown when it ends, so the Job's pod completes instead of waiting for more
work. ONESHOT_IDLE_SECONDS (from the loader's ConfigMap) bounds the wait of a pod that finds no task.
"""

import os

import swh_elastic_delivery  # noqa: F401  (before SWH's app: its tasks take the delivery settings)
from swh.scheduler.celery_backend.config import app  # noqa: F401  (the app Celery loads)
from swh_elastic_one_task import one_task_per_worker

one_task_per_worker(app, float(os.environ.get("ONESHOT_IDLE_SECONDS", "60")))
