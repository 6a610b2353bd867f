"""Celery app for loader Deployments: SWH's app, its tasks taking the delivery settings (swh_elastic_delivery),
and each busy worker's pod marked costly to delete, a task reaching a pod being deleted going back to its queue
(swh_elastic_deletion_cost), so that KEDA's scale-downs stop idle workers, not busy ones."""

import swh_elastic_delivery  # noqa: F401  (before SWH's app)
from swh.scheduler.task import SWHTask
from swh_elastic_deletion_cost import steer_scale_downs

# SWH's tasks are SWHTask's subclasses (its app's task class, or their own base=SWHTask).
steer_scale_downs(SWHTask)

from swh.scheduler.celery_backend.config import app  # noqa: F401,E402  (the app Celery loads)
