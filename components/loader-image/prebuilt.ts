import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DIGEST_PINNED, splitTag } from "../common/schema";

/**
 * A prebuilt image's digest-pinned reference. A digest is kept as is; a tag is resolved to the digest its registry
 * holds now, at every preview (the docker provider's getRegistryImage), so the Deployment is pinned and a moved
 * tag shows as an image change in the merge request's preview.
 */
export function prebuiltImageRef(ref: string, opts?: pulumi.InvokeOutputOptions): pulumi.Output<string> {
    if (DIGEST_PINNED.test(ref)) return pulumi.output(ref);
    const tagged = splitTag(ref);
    if (!tagged) throw new Error(`not a tagged or digest-pinned image reference: ${ref}`);
    return docker
        .getRegistryImageOutput({ name: ref }, opts)
        .apply((image) => `${tagged.repository}@${image.sha256Digest}`);
}
