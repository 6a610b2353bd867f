/**
 * Where the offline engine keeps its things, all in ignored directories: the file backend, the Pulumi home,
 * per-stack work directories and a generated passphrase. Tools come from scripts/tools/bootstrap.sh.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..", "..");
export const STATE = path.join(ROOT, ".state");

/** The directory bootstrap.sh links pulumi and the provider plugins into. */
export function toolsBin(): string {
    return execFileSync(path.join(ROOT, "scripts/tools/bootstrap.sh"), ["--print-bin"], {
        encoding: "utf8",
    }).trim();
}

/** The passphrase of the local file backend's secrets, generated once per checkout. */
function passphrase(): string {
    const file = path.join(STATE, "passphrase");
    if (!fs.existsSync(file)) {
        fs.mkdirSync(STATE, { recursive: true });
        fs.writeFileSync(file, crypto.randomBytes(24).toString("base64url"), { mode: 0o600 });
    }
    return fs.readFileSync(file, "utf8").trim();
}

/** Environment of an offline engine run: file backend, no update checks, no plugin downloads. */
export function engineEnv(): Record<string, string> {
    const bin = toolsBin();
    if (!fs.existsSync(path.join(bin, "pulumi"))) {
        throw new Error(`the Pulumi CLI is not built: run scripts/tools/bootstrap.sh (looked in ${bin})`);
    }
    fs.mkdirSync(path.join(STATE, "backend"), { recursive: true });
    return {
        PATH: `${bin}:${process.env.PATH}`,
        PULUMI_HOME: path.join(STATE, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(STATE, "backend")}`,
        PULUMI_CONFIG_PASSPHRASE: passphrase(),
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    };
}
