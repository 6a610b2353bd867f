/**
 * `npm run e2e:images`: makes the images the e2e tier builds from debootstrap (the loader's base image, the
 * Debian test hosts, the nodes' pod image) ahead of it, so .ci/run makes them beside the tool build instead of
 * inside the e2e tier. Each is cached and labelled by what made it: the tests find them present. A failure here
 * is not the tests': they make what is missing themselves.
 */
import { BASE_IMAGE } from "../demo";
import { HOST_SPECS, ensureHostImage } from "../hosts/hosts";
import { ensurePodImage } from "../hosts/node";
import { ensureDocker, makeBaseImage, step } from "./env";

async function main(): Promise<void> {
    await ensureDocker();
    const images: [string, () => void][] = [
        [`loader base image ${BASE_IMAGE}`, () => makeBaseImage(BASE_IMAGE)],
        ...HOST_SPECS.map((s): [string, () => void] => [
            `test host image (Debian ${s.release})`,
            () => ensureHostImage(s.release),
        ]),
        ["the nodes' pod image", ensurePodImage],
    ];
    for (const [i, [what, make]] of images.entries()) {
        const began = Date.now();
        step(i + 1, images.length, what);
        make();
        console.log(`  ${what}: ${((Date.now() - began) / 1000).toFixed(0)} s`);
    }
}

main().catch((e) => {
    console.error(`e2e images: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
});
