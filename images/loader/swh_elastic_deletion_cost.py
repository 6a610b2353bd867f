"""A busy worker marks its own pod as costly to delete, so a scale-down takes idle pods first.

The ReplicaSet controller deletes the pods of lowest `controller.kubernetes.io/pod-deletion-cost` first. When a
task starts, the worker process sets its pod's cost to 1; when the task ends, back to 0. KEDA's HPA then removes
idle workers before busy ones. Exact with one process per pod (SWH's CONCURRENCY=1); with more, the last process
to start or end a task decides. A process killed by the task time limit never says it ended: its pod stays
marked busy until its next task ends.

Standard library only: the image's venv holds SWH's frozen packages and nothing more. The pod's ServiceAccount
token and the API server come from the kubelet (the projected token, KUBERNETES_SERVICE_HOST); POD_NAME and
POD_NAMESPACE from the downward API. Outside a pod nothing is sent, and a failed update never fails a task.
"""

import json
import logging
import os
import ssl
import urllib.request

from celery.signals import task_postrun, task_prerun

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


def set_cost(cost: int) -> bool:
    """Sets this worker's pod's deletion cost; False (and a warning) when it could not."""
    url = pod_url()
    if url is None:
        return False
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
            response.read()
        return True
    except Exception as e:  # noqa: BLE001  steering a scale-down is best effort
        logger.warning("could not set %s=%s on %s: %s", ANNOTATION, cost, url, e)
        return False


@task_prerun.connect
def _busy(**_kwargs):
    set_cost(BUSY)


@task_postrun.connect
def _idle(**_kwargs):
    set_cost(IDLE)
