/**
 * The provider packages a Node.js program needs, as Pulumi's Go host finds them (GetRequiredPackages): every
 * package.json under the program's node_modules whose `pulumi.resource` is true, with `v<version>` and the
 * optional plugin download server. The engine then knows each provider's version before the program runs.
 */
import * as fs from "fs";
import * as path from "path";

export interface RequiredPackage {
    name: string;
    version: string;
    server?: string;
}

interface PulumiPackageJson {
    name?: string;
    version?: string;
    pulumi?: { resource?: boolean; name?: string; version?: string; server?: string };
}

function readJson(file: string): PulumiPackageJson | undefined {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as PulumiPackageJson;
    } catch {
        return undefined;
    }
}

/** Packages found under `dir/node_modules` (scoped and nested), sorted by name, one per name and version. */
export function requiredPackages(programDirectory: string): RequiredPackage[] {
    const found = new Map<string, RequiredPackage>();
    const visit = (modules: string, depth: number) => {
        if (depth > 8 || !fs.existsSync(modules)) return;
        for (const entry of fs.readdirSync(modules)) {
            if (entry.startsWith(".")) continue;
            const dirs = entry.startsWith("@")
                ? fs.readdirSync(path.join(modules, entry)).map((e) => path.join(modules, entry, e))
                : [path.join(modules, entry)];
            for (const dir of dirs) {
                const pkg = readJson(path.join(dir, "package.json"));
                if (pkg?.pulumi?.resource) {
                    const name = pkg.pulumi.name ?? (pkg.name ?? "").replace(/^@pulumi\//, "");
                    const version = `v${String(pkg.pulumi.version ?? pkg.version).replace(/^v/, "")}`;
                    found.set(`${name}@${version}`, { name, version, server: pkg.pulumi.server });
                }
                visit(path.join(dir, "node_modules"), depth + 1);
            }
        }
    };
    visit(path.join(programDirectory, "node_modules"), 0);
    return [...found.values()].sort(
        (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
    );
}

/** The program's direct dependencies (package.json) with their installed versions, for `pulumi about`. */
export function programDependencies(programDirectory: string): { name: string; version: string }[] {
    const pkg = JSON.parse(fs.readFileSync(path.join(programDirectory, "package.json"), "utf8")) as {
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
    };
    return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
        .sort()
        .flatMap((name) => {
            const installed = readJson(path.join(programDirectory, "node_modules", name, "package.json"));
            return installed?.version ? [{ name, version: installed.version }] : [];
        });
}
