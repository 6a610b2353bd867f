/**
 * The box's certificates, made with openssl once per box directory: a cluster CA, the API server's serving
 * certificate, an admin client (system:masters), the service-account signing key, the aggregation layer's
 * front-proxy pair, and KEDA's certificate (operator gRPC, metrics server serving, mTLS between them).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface BoxPki {
    dir: string;
    ca: string;
    caKey: string;
    apiserver: { cert: string; key: string };
    admin: { cert: string; key: string };
    serviceAccount: { key: string; pub: string };
    frontProxyCa: string;
    frontProxyClient: { cert: string; key: string };
    /** ca.crt, tls.crt, tls.key: the layout KEDA's operator and metrics server read (--cert-dir). */
    kedaDir: string;
    /** metrics-server's serving pair (the resource metrics API, for the benchmark's CPU-based HPA). */
    metricsServer: { cert: string; key: string };
}

function openssl(args: string[], input?: string): void {
    execFileSync("openssl", args, { input, stdio: ["pipe", "ignore", "pipe"] });
}

function makeCa(dir: string, name: string, cn: string): { cert: string; key: string } {
    const cert = path.join(dir, `${name}.crt`);
    const key = path.join(dir, `${name}.key`);
    openssl(
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "3650",
        ].concat(["-subj", `/CN=${cn}`, "-addext", "basicConstraints=critical,CA:TRUE"]),
    );
    return { cert, key };
}

/** A certificate signed by `ca` with the given subject, SANs and usages. */
function issue(
    dir: string,
    name: string,
    ca: { cert: string; key: string },
    subject: string,
    usage: string,
    sans: string[] = [],
): { cert: string; key: string } {
    const cert = path.join(dir, `${name}.crt`);
    const key = path.join(dir, `${name}.key`);
    const csr = path.join(dir, `${name}.csr`);
    const ext = path.join(dir, `${name}.ext`);
    fs.writeFileSync(
        ext,
        [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            `extendedKeyUsage=${usage}`,
            ...(sans.length ? [`subjectAltName=${sans.join(",")}`] : []),
        ].join("\n"),
    );
    openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject]);
    openssl(
        ["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial"].concat([
            "-out",
            cert,
            "-days",
            "3650",
            "-extfile",
            ext,
        ]),
    );
    fs.rmSync(csr);
    fs.rmSync(ext);
    return { cert, key };
}

/** Makes the certificates under `dir/pki` unless they exist; returns their paths. */
export function ensurePki(dir: string): BoxPki {
    const pki = path.join(dir, "pki");
    const kedaDir = path.join(pki, "keda");
    const paths: BoxPki = {
        dir: pki,
        ca: path.join(pki, "ca.crt"),
        caKey: path.join(pki, "ca.key"),
        apiserver: { cert: path.join(pki, "apiserver.crt"), key: path.join(pki, "apiserver.key") },
        admin: { cert: path.join(pki, "admin.crt"), key: path.join(pki, "admin.key") },
        serviceAccount: { key: path.join(pki, "sa.key"), pub: path.join(pki, "sa.pub") },
        frontProxyCa: path.join(pki, "front-proxy-ca.crt"),
        frontProxyClient: {
            cert: path.join(pki, "front-proxy-client.crt"),
            key: path.join(pki, "front-proxy-client.key"),
        },
        kedaDir,
        metricsServer: {
            cert: path.join(pki, "metrics-server.crt"),
            key: path.join(pki, "metrics-server.key"),
        },
    };
    // The last file made marks a complete set.
    if (fs.existsSync(paths.metricsServer.key)) return paths;
    fs.rmSync(pki, { recursive: true, force: true });
    fs.mkdirSync(kedaDir, { recursive: true, mode: 0o700 });
    const ca = makeCa(pki, "ca", "swh-box-ca");
    const loopback = ["IP:127.0.0.1", "DNS:localhost"];
    issue(pki, "apiserver", ca, "/CN=kube-apiserver", "serverAuth", [
        ...loopback,
        "DNS:kubernetes",
        "DNS:kubernetes.default.svc",
        "IP:10.96.0.1",
    ]);
    issue(pki, "admin", ca, "/O=system:masters/CN=box-admin", "clientAuth");
    openssl(["genrsa", "-out", paths.serviceAccount.key, "2048"]);
    openssl(["rsa", "-in", paths.serviceAccount.key, "-pubout", "-out", paths.serviceAccount.pub]);
    const frontProxyCa = makeCa(pki, "front-proxy-ca", "swh-box-front-proxy-ca");
    issue(pki, "front-proxy-client", frontProxyCa, "/CN=front-proxy-client", "clientAuth");
    // The aggregator dials the APIService's Service by name and checks the certificate against it.
    const keda = issue(pki, "keda", ca, "/CN=keda-operator", "serverAuth,clientAuth", [
        ...loopback,
        "DNS:keda-metrics-apiserver.keda.svc",
        "DNS:keda-operator.keda.svc",
    ]);
    fs.copyFileSync(ca.cert, path.join(kedaDir, "ca.crt"));
    fs.renameSync(keda.cert, path.join(kedaDir, "tls.crt"));
    fs.renameSync(keda.key, path.join(kedaDir, "tls.key"));
    issue(pki, "metrics-server", ca, "/CN=metrics-server", "serverAuth", [
        ...loopback,
        "DNS:metrics-server.kube-system.svc",
    ]);
    return paths;
}

/** A kubeconfig for the admin client against the box's API server. */
export function adminKubeconfig(pki: BoxPki, server: string): string {
    const b64 = (f: string) => fs.readFileSync(f).toString("base64");
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: box",
        "  cluster:",
        `    server: ${server}`,
        `    certificate-authority-data: ${b64(pki.ca)}`,
        "users:",
        "- name: box-admin",
        "  user:",
        `    client-certificate-data: ${b64(pki.admin.cert)}`,
        `    client-key-data: ${b64(pki.admin.key)}`,
        "contexts:",
        "- name: box",
        "  context: { cluster: box, user: box-admin }",
        "current-context: box",
        "",
    ].join("\n");
}

/** A kubelet's client certificate: user system:node:NAME in group system:nodes, as the Node authorizer expects. */
export function nodeClientCert(pki: BoxPki, name: string): { cert: string; key: string } {
    return issue(
        pki.dir,
        `node-${name}`,
        { cert: pki.ca, key: pki.caKey },
        `/O=system:nodes/CN=system:node:${name}`,
        "clientAuth",
    );
}
