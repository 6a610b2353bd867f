"""Lets SWH's tasks take the loader's delivery settings from config.yml.

SWH's task class pins `reject_on_worker_lost = False`, which Celery takes over config.yml's
`task_reject_on_worker_lost`. Unset, every task takes the config's value, which the loader's `delivery` sets;
otherwise a worker process that dies mid-task (an OOM kill) has its task acknowledged, and lost. Imported before
SWH's app, so before any task class binds to it (task modules are imported when the worker starts).
"""

from swh.scheduler.task import SWHTask

SWHTask.reject_on_worker_lost = None
