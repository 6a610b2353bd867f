/**
 * The pool as all loaders share it. Each loader's maxReplicas is bounded by what its hosts hold as if it had them
 * alone; together they may ask for more than the hosts have. This says how much, and who waits.
 */
import { Resources, formatCpu, formatMemory } from "../common/quantity";
import { NodeCapacity, eligibleNodes } from "../worker-node-pool/capacity";
import { PRIORITY_CLASSES, Priority } from "./args";
import { LoaderPlan } from "./plan";

/** The shared picture: the hosts loaders can run on, what all loaders at their maximum ask, and what the hosts hold. */
export interface SharedCapacity {
    /** Hosts at least one loader can run on, with what they leave for loaders and which loaders can use it. */
    hosts: { name: string; cpu: string; memory: string; loaders: string[] }[];
    /** Sum over those hosts of what loaders can request (a host no loader can use is not counted). */
    supply: { cpu: string; memory: string; cpuMillis: number; memoryBytes: number };
    /** Sum over the loaders of maxReplicas × requests: what they ask when all run at their maximum. */
    demand: { cpu: string; memory: string; cpuMillis: number; memoryBytes: number };
    /** Loaders whose maxima, together, exceed the hosts they share; empty when all fit at once. */
    oversubscribed: string[];
    /** What happens then, naming the loaders and who waits; undefined when all fit. */
    warning?: string;
}

const amounts = (r: Resources) => ({
    cpu: formatCpu(r.cpuMillis),
    memory: formatMemory(r.memoryBytes),
    cpuMillis: r.cpuMillis,
    memoryBytes: r.memoryBytes,
});

/** Who preempts whom under SWH's priority classes (KedaOperator: the low class never preempts). */
function whoWaits(plans: LoaderPlan[]): string {
    const byPriority = (p: Priority) =>
        plans.filter((l) => l.priorityClassName === PRIORITY_CLASSES[p].name).map((l) => l.loader);
    const [high, normal, low] = [byPriority("high"), byPriority("normal"), byPriority("low")];
    const parts = [
        high.length ? `${high.join(", ")} (high) can preempt lower-priority pods` : "",
        normal.length ? `${normal.join(", ")} (normal) can preempt low ones` : "",
        low.length ? `${low.join(", ")} (low) wait Pending for room, never preempting` : "",
    ].filter(Boolean);
    return parts.join("; ");
}

/** The shared capacity of `nodes` for the loaders of `plans`. */
export function sharedCapacity(nodes: NodeCapacity[], plans: LoaderPlan[]): SharedCapacity {
    const users = new Map<string, string[]>();
    for (const plan of plans) {
        for (const n of eligibleNodes(nodes, plan))
            users.set(n.name, [...(users.get(n.name) ?? []), plan.loader]);
    }
    const hosts = nodes.filter((n) => users.has(n.name));
    const supply = hosts.reduce(
        (s, n) => ({
            cpuMillis: s.cpuMillis + n.forLoaders.cpuMillis,
            memoryBytes: s.memoryBytes + n.forLoaders.memoryBytes,
        }),
        { cpuMillis: 0, memoryBytes: 0 },
    );
    const demand = plans.reduce(
        (s, l) => ({
            cpuMillis: s.cpuMillis + l.maxReplicas * l.request.cpuMillis,
            memoryBytes: s.memoryBytes + l.maxReplicas * l.request.memoryBytes,
        }),
        { cpuMillis: 0, memoryBytes: 0 },
    );
    const over = demand.cpuMillis > supply.cpuMillis || demand.memoryBytes > supply.memoryBytes;
    // The loaders that share a host with another one: they compete when all are busy.
    const oversubscribed = over
        ? plans
              .filter((l) =>
                  hosts.some(
                      (h) => (users.get(h.name) ?? []).length > 1 && users.get(h.name)!.includes(l.loader),
                  ),
              )
              .map((l) => l.loader)
        : [];
    const shown = (r: Resources) => `cpu ${formatCpu(r.cpuMillis)} / memory ${formatMemory(r.memoryBytes)}`;
    return {
        hosts: hosts.map((n) => ({
            name: n.name,
            cpu: formatCpu(n.forLoaders.cpuMillis),
            memory: formatMemory(n.forLoaders.memoryBytes),
            loaders: users.get(n.name)!,
        })),
        supply: amounts(supply),
        demand: amounts(demand),
        oversubscribed,
        warning:
            oversubscribed.length > 0
                ? `loaders ${oversubscribed.join(", ")} share their hosts: at their maxReplicas together they request ` +
                  `${shown(demand)}, the hosts hold ${shown(supply)}. When all are busy, ` +
                  `${whoWaits(plans.filter((l) => oversubscribed.includes(l.loader)))}.`
                : undefined,
    };
}
