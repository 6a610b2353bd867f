"""Celery app for loader Deployments: SWH's app, its tasks taking the delivery settings (swh_elastic_delivery),
and each busy worker's pod marked costly to delete (swh_elastic_deletion_cost), so that KEDA's scale-downs stop
idle workers, not busy ones."""

import swh_elastic_delivery  # noqa: F401  (before SWH's app)
import swh_elastic_deletion_cost  # noqa: F401  (connects its task signals)
from swh.scheduler.celery_backend.config import app  # noqa: F401  (the app Celery loads)
