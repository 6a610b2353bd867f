/**
 * Generates the config reference (docs/config.md) and the `config:` block of Pulumi.yaml from the components'
 * schemas, so neither can drift from what the program accepts. `npm run docs` writes them; a unit test fails
 * when either is stale.
 *
 *     node -r ts-node/register/transpile-only scripts/docs.ts [--check]
 */
import * as fs from "fs";
import * as path from "path";
import * as prettier from "prettier";
import * as YAML from "yaml";
import { z } from "zod";
import { inputInner } from "../components/common/schema";
import { PROJECT, SECRET_KEYS } from "../config/load";
import { programKeys, structuredKeys } from "../config/schema";

const ROOT = path.resolve(__dirname, "..");
export const CONFIG_DOC = path.join(ROOT, "docs", "config.md");
export const PULUMI_YAML = path.join(ROOT, "Pulumi.yaml");

/** One documented key: where it is, what it holds, its default, and what it means. */
export interface KeyDoc {
    key: string;
    type: string;
    default?: string;
    required: boolean;
    description: string;
}

type Def = z.core.$ZodTypeDef & Record<string, unknown>;
const defOf = (s: z.core.$ZodType): Def => s._zod.def as Def;

/** Peels optional/default/prefault wrappers off a schema, collecting what they say. */
function unwrap(schema: z.core.$ZodType): {
    inner: z.core.$ZodType;
    optional: boolean;
    dflt?: unknown;
    description?: string;
} {
    let cur = schema;
    let optional = false;
    let dflt: unknown;
    let description = (cur as z.ZodType).description;
    for (let i = 0; i < 10; i++) {
        const def = defOf(cur);
        if (def.type === "optional") optional = true;
        else if (def.type === "default") {
            optional = true;
            dflt = def.defaultValue;
        } else if (def.type === "prefault") optional = true;
        else if (def.type === "custom" && inputInner.has(def)) {
            cur = inputInner.get(def)!;
            description ??= (cur as z.ZodType).description;
            continue;
        } else break;
        cur = def.innerType as z.core.$ZodType;
        description ??= (cur as z.ZodType).description;
    }
    return { inner: cur, optional, dflt, description };
}

/** A short type name: string, number, bool, list of X, map, one of a | b. */
function typeName(schema: z.core.$ZodType): string {
    const def = defOf(schema);
    switch (def.type) {
        case "string":
            return "string";
        case "number":
            return "number";
        case "boolean":
            return "bool";
        case "pipe":
            return "bool";
        case "enum":
            return Object.values(def.entries as Record<string, string>)
                .map((v) => `\`${v}\``)
                .join(" \\| ");
        case "array":
            return `list of ${typeName(unwrap(def.element as z.core.$ZodType).inner)}`;
        case "object":
            return "object";
        case "record":
            return "map";
        case "union":
            return (def.options as z.core.$ZodType[]).map(typeName).join(" or ");
        default:
            return String(def.type);
    }
}

/** Every key under `prefix`, depth first: objects open into their fields, lists of objects into `[]`. */
function walk(prefix: string, schema: z.core.$ZodType, parentOptional: boolean, out: KeyDoc[]): void {
    const { inner, optional, dflt, description } = unwrap(schema);
    const def = defOf(inner);
    out.push({
        key: prefix,
        type: typeName(inner),
        default: dflt === undefined ? undefined : JSON.stringify(dflt),
        required: !optional && !parentOptional,
        description: description ?? "",
    });
    if (def.type === "object") {
        for (const [k, v] of Object.entries(def.shape as Record<string, z.core.$ZodType>))
            walk(`${prefix}.${k}`, v, false, out);
    } else if (def.type === "array") {
        const element = unwrap(def.element as z.core.$ZodType).inner;
        if (defOf(element).type === "object") {
            for (const [k, v] of Object.entries(defOf(element).shape as Record<string, z.core.$ZodType>)) {
                walk(`${prefix}[].${k}`, v, false, out);
            }
        }
    }
}

/** The documented keys of the stack config, program keys first, then the structured ones. */
export function configKeys(): KeyDoc[] {
    const out: KeyDoc[] = [];
    for (const [k, v] of Object.entries(programKeys.shape)) walk(k, v, false, out);
    for (const [k, v] of Object.entries(structuredKeys)) walk(k, v, false, out);
    return out;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** docs/config.md. */
export function configReference(): string {
    const keys = configKeys();
    // A long default (an object) is shown below the table, so the table stays readable.
    const long = keys.filter((k) => k.default !== undefined && k.default.length > 40);
    const defaultCell = (k: KeyDoc) =>
        k.default === undefined
            ? k.required
                ? "required"
                : ""
            : k.default.length > 40
              ? `[below](#${k.key.replace(/[^a-z0-9]/gi, "").toLowerCase()})`
              : `\`${cell(k.default)}\``;
    const rows = keys.map((k) => `| \`${k.key}\` | ${k.type} | ${defaultCell(k)} | ${cell(k.description)} |`);
    const longDefaults = long.flatMap((k) => [
        `### ${k.key}`,
        "",
        "```json",
        JSON.stringify(JSON.parse(k.default!), null, 2),
        "```",
        "",
    ]);
    const secrets = Object.entries(SECRET_KEYS).map(([k, s]) => `| \`${k}\` | ${cell(s.what)} |`);
    return [
        "# Config reference",
        "",
        "<!-- Generated by `npm run docs` from the components' schemas (components/*/args.ts, config/schema.ts). Do not edit. -->",
        "",
        `Every key is in the \`${PROJECT}:\` namespace. A nested key is a field of its parent's object:`,
        "`pool.hosts[].cpu` is `cpu` in each entry of `pool`'s `hosts` list. A field of an optional object is",
        "required only when the object is given. Defaults are the components' own: a component used alone in",
        "another stack has the same ones.",
        "",
        "| Key | Type | Default | Meaning |",
        "| --- | ---- | ------- | ------- |",
        ...rows,
        "",
        "## Defaults too long for the table",
        "",
        ...longDefaults,
        "## Secrets",
        "",
        "Set with `pulumi config set --secret <key>`; a secret set in plain text is refused. Each is required only",
        "with the feature that uses it (config/load.ts says which when one is missing).",
        "",
        "| Key | What it holds |",
        "| --- | ------------- |",
        ...secrets,
        "",
    ].join("\n");
}

/** Pulumi.yaml's `config:` block: program keys with type and default, structured keys with their description. */
export function pulumiConfigBlock(): Record<string, Record<string, unknown>> {
    const block: Record<string, Record<string, unknown>> = {};
    for (const [k, v] of Object.entries({ ...programKeys.shape, ...structuredKeys })) {
        const { inner, optional, dflt, description } = unwrap(v);
        const type = defOf(inner).type;
        // A declared key without a default is required by the engine: optional keys without one stay undeclared.
        const isPrefault = defOf(v).type === "prefault";
        if (optional && dflt === undefined && !isPrefault) continue;
        block[k] = {
            type:
                type === "pipe" || type === "boolean"
                    ? "boolean"
                    : type === "array"
                      ? "array"
                      : type === "object"
                        ? "object"
                        : "string",
            ...(type === "array" ? { items: { type: "object" } } : {}),
            ...(dflt !== undefined ? { default: dflt } : isPrefault ? { default: {} } : {}),
            description: `${description ?? ""} See docs/config.md.`.trim(),
        };
    }
    return block;
}

/** Pulumi.yaml with its config block regenerated, the rest as it is. */
export function pulumiYaml(current: string): string {
    const doc = YAML.parseDocument(current);
    const block = pulumiConfigBlock();
    doc.set("config", block);
    const undeclared = Object.keys({ ...programKeys.shape, ...structuredKeys }).filter((k) => !(k in block));
    doc.comment = [
        " Not declared above because each is required only with the feature that uses it (a declared key without",
        " a default is required by the engine); config/load.ts names the key when one is missing. See docs/config.md.",
        ...undeclared.map((k) => {
            const all: Record<string, z.core.$ZodType> = { ...programKeys.shape, ...structuredKeys };
            return `   ${k.padEnd(26)} object  ${unwrap(all[k]).description ?? ""}`;
        }),
        ...Object.entries(SECRET_KEYS).map(([k, s]) => `   ${k.padEnd(26)} secret  ${s.what}`),
    ].join("\n");
    return doc.toString({ lineWidth: 0 });
}

/** What the generated files should hold, formatted as `prettier --check` wants them. */
export async function generated(): Promise<[string, string][]> {
    const outputs: [string, string][] = [
        [CONFIG_DOC, configReference()],
        [PULUMI_YAML, pulumiYaml(fs.readFileSync(PULUMI_YAML, "utf8"))],
    ];
    return Promise.all(
        outputs.map(async ([file, text]) => {
            const options = (await prettier.resolveConfig(file)) ?? {};
            return [file, await prettier.format(text, { ...options, filepath: file })] as [string, string];
        }),
    );
}

async function main(): Promise<void> {
    const check = process.argv.includes("--check");
    let stale = 0;
    for (const [file, text] of await generated()) {
        const now = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
        if (now === text) continue;
        stale++;
        if (check) console.error(`${path.relative(ROOT, file)} is stale: run npm run docs`);
        else fs.writeFileSync(file, text);
    }
    process.exit(check && stale > 0 ? 1 : 0);
}

if (require.main === module) void main();
