"""Build-time check of a loader image: the worker's task modules import, its tasks take the delivery settings
from config.yml, and each steers scale-downs when it starts (swh_elastic_worker); the ScaledJob pods' app
(swh_elastic_oneshot) imports too. A failure fails the image build, not a pod.

Run with no worker config: each setting then reads Celery's default, which the tasks must show.
"""

import sys

from swh_elastic_worker import app

import swh_elastic_oneshot  # noqa: F401,E402  (job mode's app: the same SWH app, one task per worker)
from swh_elastic_deletion_cost import busy_unless_deleted  # noqa: E402

app.loader.import_default_modules()
tasks = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
expected = app.conf.task_reject_on_worker_lost
pinned = sorted(n for n, t in tasks.items() if t.reject_on_worker_lost is not expected)
if pinned:
    sys.exit(
        f"tasks ignore task_reject_on_worker_lost ({expected!r}): {', '.join(pinned)}; "
        "delivery at-least-once would lose their tasks when a worker process dies"
    )
# A task class with a before_start of its own would neither mark its pod busy nor hand back its task.
unsteered = sorted(n for n, t in tasks.items() if t.before_start.__func__ is not busy_unless_deleted)
if unsteered:
    sys.exit(
        f"tasks override before_start: {', '.join(unsteered)}; their pods would not be marked busy, "
        "and a scale-down could stop them mid-task"
    )
print(f"task modules import: {', '.join(sorted(set(app.conf.imports))) or 'none'}; {len(tasks)} tasks")
