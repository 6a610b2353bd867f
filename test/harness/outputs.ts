import * as pulumi from "@pulumi/pulumi";

/** The error an Output ends with (its apply's throw), or undefined when it gives a value. */
export async function failureOf(o: pulumi.Input<unknown>): Promise<string | undefined> {
    // The SDK's Output keeps its promise internal; `promise()` is how its own tests read it.
    const internal = pulumi.output(o) as unknown as { promise(): Promise<unknown> };
    try {
        await internal.promise();
        return undefined;
    } catch (e) {
        return (e as Error).message;
    }
}
