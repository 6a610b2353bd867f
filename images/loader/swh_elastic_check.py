"""Build-time check of a loader image: the worker's task modules import, and its tasks take the delivery
settings from config.yml (swh_elastic_worker); the ScaledJob pods' app (swh_elastic_oneshot) imports too. A
failure fails the image build, not a pod.

Run with no worker config: each setting then reads Celery's default, which the tasks must show.
"""

import sys

from swh_elastic_worker import app

import swh_elastic_oneshot  # noqa: F401,E402  (job mode's app: the same SWH app, one task per worker)

app.loader.import_default_modules()
tasks = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
expected = app.conf.task_reject_on_worker_lost
pinned = sorted(n for n, t in tasks.items() if t.reject_on_worker_lost is not expected)
if pinned:
    sys.exit(
        f"tasks ignore task_reject_on_worker_lost ({expected!r}): {', '.join(pinned)}; "
        "delivery at-least-once would lose their tasks when a worker process dies"
    )
print(f"task modules import: {', '.join(sorted(set(app.conf.imports))) or 'none'}; {len(tasks)} tasks")
