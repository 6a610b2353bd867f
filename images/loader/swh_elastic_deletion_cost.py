"""A busy worker marks its own pod as costly to delete, so a scale-down takes idle pods first; a task that
reaches a pod already chosen for deletion goes back to its queue before it starts.

The ReplicaSet controller deletes the pods of lowest `controller.kubernetes.io/pod-deletion-cost` first. When a
task starts, the worker process sets its pod's cost to 1; when the task ends, back to 0. KEDA's HPA then removes
idle workers before busy ones. Exact with one process per pod (SWH's CONCURRENCY=1); with more, the last process
to start or end a task decides. A process killed by the task time limit never says it ended: its pod stays
marked busy until its next task ends.

The kubelet's preStop (the warm shutdown) comes after the ReplicaSet's choice, and in between an idle worker can
still take a task: the scale-down then stops a busy worker (measured by the benchmark at SWH's pace, on a steady
flow). The busy mark's PATCH answers with the pod as the API server holds it: when it carries a
deletionTimestamp, the deletion is decided, so under late ack (delivery at-least-once) the task is rejected
back to its queue before it starts and the worker stops consuming, to wait idle for its SIGTERM. Under early ack
the message is already acknowledged and the task runs, as SWH's loaders do today. What is left is the
ReplicaSet's own gap between reading the costs and deleting (milliseconds).

Standard library only: the image's venv holds SWH's frozen packages and nothing more. The pod's ServiceAccount
token and the API server come from the kubelet (the projected token, KUBERNETES_SERVICE_HOST); POD_NAME and
POD_NAMESPACE from the downward API. Outside a pod nothing is sent, and a failed update never fails a task.
"""

import json
import logging
import os
import ssl
import urllib.request

from celery.exceptions import Reject
from celery.signals import task_postrun

ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
BUSY, IDLE = 1, 0
# Where the kubelet mounts the token; a stand-in kubelet that cannot mount there names its own directory.
ACCOUNT_DIR = os.environ.get(
    "SWH_SERVICEACCOUNT_DIR", "/var/run/secrets/kubernetes.io/serviceaccount"
)

logger = logging.getLogger(__name__)


def pod_url() -> str | None:
    """The API URL of this worker's pod, or None outside a pod."""
    pod, namespace = os.environ.get("POD_NAME"), os.environ.get("POD_NAMESPACE")
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    if not (pod and namespace and host):
        return None
    if ":" in host:
        host = f"[{host}]"
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    return f"https://{host}:{port}/api/v1/namespaces/{namespace}/pods/{pod}"


def set_cost(cost: int) -> dict | None:
    """Sets this worker's pod's deletion cost; returns the pod's metadata as the API server answered, or None
    (and a warning) when it could not."""
    url = pod_url()
    if url is None:
        return None
    try:
        with open(os.path.join(ACCOUNT_DIR, "token"), encoding="ascii") as f:
            token = f.read().strip()
        context = ssl.create_default_context(cafile=os.path.join(ACCOUNT_DIR, "ca.crt"))
        request = urllib.request.Request(
            url,
            data=json.dumps({"metadata": {"annotations": {ANNOTATION: str(cost)}}}).encode(),
            method="PATCH",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/merge-patch+json",
            },
        )
        # The API server is reached directly: a proxy from the environment must not carry the token.
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        with opener.open(request, timeout=5) as response:
            return json.load(response).get("metadata", {})
    except Exception as e:  # noqa: BLE001  steering a scale-down is best effort
        logger.warning("could not set %s=%s on %s: %s", ANNOTATION, cost, url, e)
        return None


def busy_unless_deleted(task, task_id, _args, _kwargs):
    """Task.before_start: marks the pod busy; hands the task back when the pod is being deleted (late ack)."""
    pod = set_cost(BUSY)
    if not (pod and pod.get("deletionTimestamp")) or not task.acks_late:
        return
    worker = task.request.hostname
    queues = list(task.app.amqp.queues.consume_from)
    logger.warning(
        "pod %s is being deleted (its grace period ends %s): task %s goes back to its queue, "
        "and %s stops consuming %s",
        pod.get("name"),
        pod["deletionTimestamp"],
        task_id,
        worker,
        ", ".join(queues),
    )
    # The worker's consumer lives in its main process: a remote-control command reaches it from a pool process.
    # Its reply comes once the cancel is scheduled in the main loop, and the rejection reaches that loop only
    # after it, through the pool's pipe: in practice the cancel runs first (kombu's hub does not promise an order),
    # so the message goes to another consumer; if not, it comes back here and is handed back again. A worker
    # already in its warm shutdown no longer answers: the short timeout bounds that wait.
    for queue in queues:
        try:
            if not task.app.control.cancel_consumer(
                queue, destination=[worker], reply=True, limit=1, timeout=2
            ):
                logger.warning("%s did not confirm it stopped consuming %s", worker, queue)
        except Exception as e:  # noqa: BLE001  the kubelet's SIGTERM stops the consuming anyway
            logger.warning("could not cancel %s's consumer of %s: %s", worker, queue, e)
    raise Reject(f"pod {pod.get('name')} is being deleted", requeue=True)


def steer_scale_downs(task_cls) -> None:
    """Every task of `task_cls` (and its subclasses) marks its pod busy when it starts, idle when it ends, and
    goes back to its queue when it reaches a pod being deleted. Call before the worker starts: Celery builds each
    task's tracer, which looks for a custom `before_start`, when its pool processes start."""
    task_cls.before_start = busy_unless_deleted


@task_postrun.connect
def _idle(**_kwargs):
    set_cost(IDLE)
