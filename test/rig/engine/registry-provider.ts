/**
 * Stands in, in the e2e tier only, for @pulumi/docker's provider plugin, which cannot be built here (the Go
 * module proxy refuses github.com/pulumi/pulumi-docker). It serves the one function the program calls,
 * getRegistryImage, as the real provider answers it: the digest the registry's v2 API gives for the tag
 * (Docker-Content-Digest of the manifest), with the credentials of the Docker config file (`docker login`'s
 * `auths`), the real provider's fallback when no registryAuth is configured. Loopback registries only.
 */
import * as provider from "@pulumi/pulumi/provider";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { splitTag } from "../../../components/common/schema";

const TOKEN = "docker:index/getRegistryImage:getRegistryImage";
const MANIFESTS = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/** `Basic ...` for `host` from the Docker config file, as `docker login` wrote it; undefined without one. */
function dockerAuth(host: string): string | undefined {
    const dir = process.env.DOCKER_CONFIG ?? path.join(os.homedir(), ".docker");
    try {
        const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as {
            auths?: Record<string, { auth?: string }>;
        };
        const auth = config.auths?.[host]?.auth;
        return auth ? `Basic ${auth}` : undefined;
    } catch {
        return undefined;
    }
}

class RegistryImageProvider implements provider.Provider {
    readonly version = "5.2.0";

    async invoke(token: string, inputs: { name: string }): Promise<provider.InvokeResult> {
        if (token !== TOKEN)
            throw new Error(`${token}: the e2e stand-in of the docker provider serves only ${TOKEN}`);
        const tagged = splitTag(inputs.name);
        if (!tagged) throw new Error(`${inputs.name}: not a tagged image reference`);
        const [host, ...rest] = tagged.repository.split("/");
        if (!/^(127\.0\.0\.1|localhost)(:\d+)?$/.test(host))
            throw new Error(`${inputs.name}: the e2e stand-in reaches loopback registries only`);
        const auth = dockerAuth(host);
        const r = await fetch(`http://${host}/v2/${rest.join("/")}/manifests/${tagged.tag}`, {
            method: "HEAD",
            headers: { Accept: MANIFESTS.join(", "), ...(auth ? { Authorization: auth } : {}) },
            signal: AbortSignal.timeout(30000),
        });
        const digest = r.headers.get("docker-content-digest");
        if (!r.ok || !digest) throw new Error(`${inputs.name}: the registry answered ${r.status}, no digest`);
        return {
            outputs: { id: inputs.name, name: inputs.name, sha256Digest: digest, insecureSkipVerify: false },
        };
    }
}

provider.main(new RegistryImageProvider(), process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
});
