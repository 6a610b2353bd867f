import { strict as assert } from "assert";
import { versions } from "../../components/common/versions";
import { LoaderImage } from "../../components";
import { fakeDigest, isSecretAt, resolve, runUnderMocks } from "../harness/pulumi";

describe("components under Pulumi mocks", () => {
    describe("LoaderImage", () => {
        it("builds images/loader with pinned packages, pushes with secret credentials, outputs a digest-pinned ref", async () => {
            const { recorder: r, result } = await runUnderMocks(
                () =>
                    new LoaderImage("image-git", {
                        loader: "git",
                        packages: ["swh.loader.git==3.4.0"],
                        registry: "registry.test",
                        username: "swhbot",
                        password: "registry-S3cret-test",
                        releaseDate: "20261125",
                    }),
            );
            const image = r.named("image-git-image");
            assert.deepEqual(image.inputs.exports, [{ registry: {} }], "pushed to the registry");
            assert.equal(image.inputs.push, false, "not the push shorthand: it disables builds on preview");
            assert.equal(
                image.inputs.buildArgs.SWH_PACKAGES,
                `swh.loader.git==3.4.0 python-json-logger==${versions.pythonJsonLogger}`,
                "the operator's pins, and the JSON logs' formatter",
            );
            assert.equal(image.inputs.buildArgs.BASE_IMAGE, "python:3.11-bookworm");
            assert.match(image.inputs.context.location, /images\/loader$/);
            assert.equal(image.inputs.tags.length, 2);
            assert.match(image.inputs.tags[0], /^registry\.test\/softwareheritage\/loader_git:[0-9a-f]{12}$/);
            assert.match(
                image.inputs.tags[1],
                /^registry\.test\/softwareheritage\/loader_git:20261125\.[0-9a-f]{8}$/,
            );
            assert.ok(isSecretAt(image.raw, ["registries", 0, "password"]));
            const ref = await resolve(result.ref);
            assert.equal(
                ref.value,
                `registry.test/softwareheritage/loader_git@${fakeDigest("image-git-image")}`,
            );
        });
    });

    describe("LoaderImage behind a TLS-inspecting proxy", () => {
        it("passes the CA bundle as a secret build secret, outside the content hash", async () => {
            const ca = require("path").join(require("os").tmpdir(), "swh-test-ca.pem");
            require("fs").writeFileSync(
                ca,
                "-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n",
            );
            const { recorder: r } = await runUnderMocks(() => {
                new LoaderImage("with-ca", {
                    loader: "git",
                    packages: ["swh.loader.git==3.4.0"],
                    pipCaBundle: ca,
                });
                new LoaderImage("without-ca", { loader: "git", packages: ["swh.loader.git==3.4.0"] });
            });
            const withCa = r.named("with-ca-image");
            assert.ok(isSecretAt(withCa.raw, ["secrets", "pip-ca"]));
            assert.match(withCa.inputs.secrets["pip-ca"], /BEGIN CERTIFICATE/);
            assert.deepEqual(
                withCa.inputs.tags,
                r.named("without-ca-image").inputs.tags,
                "same image content, same tags",
            );
            assert.equal(
                withCa.inputs.buildOnPreview,
                false,
                "off by default: a saved plan must not pin a preview's unpushed digest",
            );
        });

        it("refuses a bundle that is not a PEM file", async () => {
            await runUnderMocks(() =>
                assert.throws(
                    () =>
                        new LoaderImage("bad", {
                            loader: "git",
                            packages: ["swh.loader.git==3.4.0"],
                            pipCaBundle: "/etc/hostname",
                        }),
                    /LoaderImage "bad": args\.pipCaBundle: expected a PEM CA bundle \(BEGIN CERTIFICATE\); got "\/etc\/hostname"/,
                ),
            );
        });
    });
});
