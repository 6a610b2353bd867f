/**
 * npm run box:up      bring the box up, declare the loaders' queues, `pulumi up` of Pulumi.box.yaml against it
 * npm run box:down    stop every process of the box (add -- --wipe to drop its data and the stack's state)
 * npm run box:publish -- <loader> <count> <seconds>   queue tasks for a loader and watch it scale
 */
import { BOX, Box, boxDown, openBox } from "./box";
import { boxLoaders, boxWithStack, forgetBoxStack, publish } from "./stack";
import { replicaState } from "./watch";

async function up(): Promise<Box> {
    const { box, changes } = await boxWithStack();
    console.log(`stack deployed: ${JSON.stringify(changes)}`);
    console.log(
        [
            "",
            "Watch a loader scale:",
            `  export KUBECONFIG=${BOX}/kubeconfig PATH=$(scripts/tools/bootstrap.sh --print-bin):$PATH`,
            "  kubectl get scaledobjects,hpa,pods -A -w",
            "  npm run box:publish -- git 40 20     # 40 tasks of 20 s on the git loader's first queue",
        ].join("\n"),
    );
    return box;
}

async function publishAndWatch(loader: string, count: number, seconds: number): Promise<void> {
    const box = openBox();
    const l = boxLoaders().find((x) => x.loader === loader);
    if (!l)
        throw new Error(
            `no loader "${loader}" in Pulumi.box.yaml (have: ${boxLoaders()
                .map((x) => x.loader)
                .join(", ")})`,
        );
    publish(box, l.queues[0], count, seconds, `${loader}-${Date.now()}`);
    console.log(
        `published ${count} tasks of ${seconds}s to ${l.queues[0]}; replicas every 5 s for 2 minutes:`,
    );
    for (let i = 0; i < 24; i++) {
        const s = await replicaState(box.kube, l.namespace, `loader-${loader}`);
        console.log(
            `  t=${i * 5}s desired ${s.desired} running ${s.running} pending ${s.pending} terminating ${s.terminating}`,
        );
        await new Promise((r) => setTimeout(r, 5000));
    }
    box.kube.close();
}

async function main(): Promise<void> {
    const [cmd, ...args] = process.argv.slice(2);
    if (cmd === "up") {
        (await up()).kube.close();
    } else if (cmd === "down") {
        const wipe = args.includes("--wipe");
        if (wipe) {
            try {
                await forgetBoxStack();
                console.log("removed the box stack's state");
            } catch (e) {
                console.log(`box stack state: ${(e as Error).message.split("\n")[0]}`);
            }
        }
        await boxDown({ wipe });
    } else if (cmd === "publish") {
        const [loader, count, seconds] = args;
        if (!loader || !Number(count) || !(Number(seconds) >= 0)) {
            throw new Error("usage: npm run box:publish -- <loader> <count> <seconds>");
        }
        await publishAndWatch(loader, Number(count), Number(seconds));
    } else {
        throw new Error("usage: test/rig/box/cli.ts up | down [--wipe] | publish <loader> <count> <seconds>");
    }
}

main().catch((e: Error) => {
    console.error(`box: ${e.message}`);
    process.exit(1);
});
