/** What a loader's `delivery` and `taskTimeoutSeconds` mean to Celery: one place for the settings they own. */
import type { Delivery } from "./args";

/**
 * The Celery settings delivery and taskTimeoutSeconds stand for, as swh.scheduler's app reads them from
 * config.yml's `celery` section. Late ack with one reserved task per process makes RabbitMQ's unacknowledged
 * count the running tasks; task_reject_on_worker_lost requeues the task of a worker process that dies. A task
 * past its time limit is failed and acknowledged (Celery's task_acks_on_failure_or_timeout), never redelivered.
 * Remote control stays on (Celery's default): a task that reaches a pod being deleted goes back to its queue,
 * and the worker stops consuming by a remote-control command to itself (swh_elastic_deletion_cost.py); without
 * it, the task would come straight back to that worker until its SIGTERM.
 */
export function celerySettings(s: { delivery: Delivery; taskTimeoutSeconds: number }) {
    const late = s.delivery === "at-least-once";
    return {
        task_acks_late: late,
        task_reject_on_worker_lost: late,
        worker_prefetch_multiplier: 1,
        task_time_limit: s.taskTimeoutSeconds,
        worker_enable_remote_control: true,
    };
}

/** The settings celerySettings owns: workerConfig.celery may not set them. */
export const OWNED_CELERY_SETTINGS = Object.keys(
    celerySettings({ delivery: "at-least-once", taskTimeoutSeconds: 1 }),
);
