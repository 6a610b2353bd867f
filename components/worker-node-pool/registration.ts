import { shQuote } from "../common/shell";
import { NodeRole, Taint } from "./args";

/** What a host declares when it joins: its name, roles, labels and taints. */
export interface RegistrationSpec {
    name: string;
    address: string;
    roles: NodeRole[];
    labels: Record<string, string>;
    taints: Taint[];
}

/**
 * Appends this host's flags to Rancher's node command (`curl .../system-agent-install.sh | sudo sh -s -
 * --server ... --token ... --ca-checksum ...`), the way Rancher's UI builds a custom node's command.
 */
export function registrationCommand(nodeCommand: string, spec: RegistrationSpec): string {
    const flags = [
        `--node-name ${shQuote(spec.name)}`,
        `--address ${shQuote(spec.address)}`,
        ...spec.roles.map((r) => `--${r}`),
        ...Object.entries(spec.labels).map(([k, v]) => `--label ${shQuote(`${k}=${v}`)}`),
        ...spec.taints.map(
            (t) => `--taint ${shQuote(`${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}`)}`,
        ),
    ];
    return `${nodeCommand.trim()} ${flags.join(" ")}`;
}
