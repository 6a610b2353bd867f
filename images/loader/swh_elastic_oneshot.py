"""Celery app for KEDA ScaledJob pods: SWH's app, but the worker stops after its first task.

With the solo pool the task runs in the worker process itself; when it has finished, one SIGTERM asks
for a warm shutdown, so the Job's pod completes instead of waiting for more work.
"""

import os
import signal

import swh_elastic_delivery  # noqa: F401  (before SWH's app: its tasks take the delivery settings)
from celery.signals import task_postrun
from swh.scheduler.celery_backend.config import app  # noqa: F401  (the app Celery loads)


@task_postrun.connect
def _stop_after_first_task(**_kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
