// Pure helpers shared by deploy, scale and config: the app Secret built from the
// config, fingerprints (the only way a secret is ever shown), image references,
// values merging and paths, the chart's values schema, and manifest diffs.
// No I/O: everything here is unit-tested on plain data.
import { createHash, randomBytes } from 'node:crypto';
import YAML from 'yaml';

/** The keys of the app Secret (secrets.existingSecret): required first. */
export const appSecretKeys = ['BETTER_AUTH_SECRET', 'DEMO_PASSWORD', 'OPENAI_API_KEY', 'DATABASE_URL'] as const;
export type AppSecretKey = (typeof appSecretKeys)[number];
export const requiredSecretKeys: readonly AppSecretKey[] = ['BETTER_AUTH_SECRET', 'DEMO_PASSWORD'];
/** Keys deploy and rotate may generate (random values nobody has to choose). */
export const generatedSecretKeys: readonly AppSecretKey[] = ['BETTER_AUTH_SECRET', 'DEMO_PASSWORD'];

/** The app Secret's name for a release (never the chart-created "<prefix>-secrets"). */
export const appSecretName = (release: string) => `${release}-app-secrets`;

/** The first 6 hex digits of the SHA-256: shows that a secret changed without showing it. */
export function fingerprint(value: string | undefined): string {
  if (value === undefined || value === '') return '(unset)';
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 6)}`;
}

/** A new random secret value: 32 bytes as hex (URL- and env-file-safe). */
export const generateSecret = () => randomBytes(32).toString('hex');

/** The Secret's data from the config: required keys always, optional ones when set. */
export function desiredSecretData(cfg: Partial<Record<AppSecretKey, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of appSecretKeys) {
    const v = cfg[k];
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

/** A Secret's base64 data, decoded. */
export function decodeSecretData(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

export function encodeSecretData(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
}

/** Per key: added, removed or changed, with fingerprints only. Empty when equal. */
export function secretChanges(live: Record<string, string> | undefined, desired: Record<string, string>): { key: string; change: 'added' | 'removed' | 'changed'; from: string; to: string }[] {
  const out: { key: string; change: 'added' | 'removed' | 'changed'; from: string; to: string }[] = [];
  const keys = [...new Set([...Object.keys(live ?? {}), ...Object.keys(desired)])].sort();
  for (const key of keys) {
    const a = live?.[key];
    const b = desired[key];
    if (a === b) continue;
    out.push({ key, change: a === undefined ? 'added' : b === undefined ? 'removed' : 'changed', from: fingerprint(a), to: fingerprint(b) });
  }
  return out;
}

// ---------------------------------------------------------------- images

export interface ImageValues {
  registry: string;
  repository: string;
  tag: string;
}

const repoPattern = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const registryPattern = /^[A-Za-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._/-]+)?$/;

/**
 * "registry.example.com:5000/team/todo-chatbot-backend:3f2a1bc" into the chart's
 * image values. A tag is required and must not be "latest"; digests are not
 * supported by the chart. Throws an Error saying what is wrong.
 */
export function parseImageRef(ref: string): ImageValues {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) throw new Error(`image "${ref}" has no tag (use name:tag; "latest" is refused)`);
  const tag = ref.slice(colon + 1);
  const path = ref.slice(0, colon);
  if (!tagPattern.test(tag) || tag === 'latest') throw new Error(`image "${ref}": bad tag "${tag}" (letters, digits, _ . -; not "latest")`);
  const parts = path.split('/');
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? parts.slice(0, -1).join('/') : '';
  const repository = hasRegistry ? parts[parts.length - 1]! : path;
  if (registry && !registryPattern.test(registry)) throw new Error(`image "${ref}": bad registry "${registry}"`);
  if (!repoPattern.test(repository)) throw new Error(`image "${ref}": bad repository "${repository}" (lower-case letters, digits, . _ - and /)`);
  return { registry, repository, tag };
}

/** "frontend=REF" pairs (from --image) into a map; throws on anything else. */
export function parseImageFlags(flags: readonly string[]): Partial<Record<'frontend' | 'backend', string>> {
  const out: Partial<Record<'frontend' | 'backend', string>> = {};
  for (const f of flags) {
    const m = /^(frontend|backend)=(.+)$/.exec(f);
    if (!m) throw new Error(`--image must be frontend=REF or backend=REF, got "${f}"`);
    out[m[1] as 'frontend' | 'backend'] = m[2]!;
  }
  return out;
}

// ---------------------------------------------------------------- values

export type Values = Record<string, unknown>;
const isObj = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's way of layering values files: maps merge key by key, anything else is replaced. */
export function mergeValues(...layers: (Values | undefined)[]): Values {
  const out: Values = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) out[k] = isObj(v) && isObj(out[k]) ? mergeValues(out[k] as Values, v) : structuredClone(v);
  }
  return out;
}

export function getPath(values: Values | undefined, dotted: string): unknown {
  let cur: unknown = values;
  for (const p of dotted.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** A copy with one value set (objects created on the way). */
export function setPath(values: Values, dotted: string, value: unknown): Values {
  const out = structuredClone(values);
  const parts = dotted.split('.');
  let cur: Values = out;
  for (const p of parts.slice(0, -1)) {
    if (!isObj(cur[p])) cur[p] = {};
    cur = cur[p] as Values;
  }
  cur[parts[parts.length - 1]!] = value;
  return out;
}

/** Equal as data: key order does not matter. */
export function sameData(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

/** Leaf paths whose values differ between two values trees, e.g. ["backend.config.logLevel"]. */
export function changedPaths(a: Values | undefined, b: Values | undefined, prefix = ''): string[] {
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].sort();
  for (const k of keys) {
    const x = a?.[k];
    const y = b?.[k];
    const p = prefix ? `${prefix}.${k}` : k;
    if (isObj(x) && isObj(y)) out.push(...changedPaths(x, y, p));
    else if (!sameData(x, y)) out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------- schema

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
}

/** The schema node of a dotted values path, or undefined when the chart has no such value. */
export function schemaAt(schema: JsonSchema, dotted: string): JsonSchema | undefined {
  let cur: JsonSchema | undefined = schema;
  for (const p of dotted.split('.')) {
    if (!cur) return undefined;
    if (cur.properties?.[p]) cur = cur.properties[p];
    else if (cur.additionalProperties && typeof cur.additionalProperties === 'object') cur = cur.additionalProperties;
    else if (cur.additionalProperties === true || (cur.type === 'object' && !cur.properties && cur.additionalProperties === undefined)) cur = {};
    else return undefined;
  }
  return cur;
}

/**
 * A value as typed on a command line ("3", "true", "null", "debug") converted for
 * its schema node, and checked against the node's type, enum, bounds and pattern.
 * Throws an Error naming the key.
 */
export function coerceValue(node: JsonSchema, key: string, raw: string): unknown {
  const types = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
  let v: unknown = raw;
  if (raw === 'null' && types.includes('null')) v = null;
  else if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?$/.test(raw)) v = Number(raw);
  else if (types.includes('boolean') && /^(true|false)$/.test(raw)) v = raw === 'true';
  else if (types.length && !types.includes('string')) throw new Error(`${key} must be ${types.join(' or ')}, got "${raw}"`);
  if (types.includes('integer') && typeof v === 'number' && !Number.isInteger(v)) throw new Error(`${key} must be an integer, got ${raw}`);
  if (typeof v === 'number') {
    if (node.minimum !== undefined && v < node.minimum) throw new Error(`${key} must be at least ${node.minimum}, got ${v}`);
    if (node.maximum !== undefined && v > node.maximum) throw new Error(`${key} must be at most ${node.maximum}, got ${v}`);
  }
  if (node.enum && !node.enum.some((e) => sameData(e, v))) throw new Error(`${key} must be one of ${node.enum.map((e) => JSON.stringify(e)).join(', ')}, got "${raw}"`);
  if (typeof v === 'string' && node.pattern && !new RegExp(node.pattern).test(v)) throw new Error(`${key}: "${raw}" does not match ${node.pattern}`);
  return v;
}

// ---------------------------------------------------------------- manifests

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/** The objects of a rendered manifest by "Kind/name", hooks (helm test pods) left out: helm get manifest omits them. */
export function parseManifest(text: string): Map<string, ManifestObject> {
  const out = new Map<string, ManifestObject>();
  for (const doc of YAML.parseAllDocuments(text)) {
    const o = doc.toJS() as ManifestObject | null;
    if (!o?.kind || !o.metadata?.name) continue;
    if (o.metadata.annotations?.['helm.sh/hook']) continue;
    out.set(`${o.kind}/${o.metadata.name}`, o);
  }
  return out;
}

export interface ManifestDiff {
  added: string[];
  removed: string[];
  changed: { object: string; lines: string[] }[];
}

/** What differs between the deployed and the rendered manifest, object by object, with the changed lines. */
export function diffManifests(deployed: string, rendered: string): ManifestDiff {
  const a = parseManifest(deployed);
  const b = parseManifest(rendered);
  const diff: ManifestDiff = { added: [], removed: [], changed: [] };
  for (const k of b.keys()) if (!a.has(k)) diff.added.push(k);
  for (const k of a.keys()) if (!b.has(k)) diff.removed.push(k);
  for (const [k, obj] of b) {
    const old = a.get(k);
    if (!old || sameData(old, obj)) continue;
    diff.changed.push({ object: k, lines: lineDiff(YAML.stringify(old).split('\n'), YAML.stringify(obj).split('\n')) });
  }
  return diff;
}

export const manifestUnchanged = (d: ManifestDiff) => !d.added.length && !d.removed.length && !d.changed.length;

/** A small line diff ("- old", "+ new"), from the longest common subsequence; enough for a few hundred lines. */
export function lineDiff(a: string[], b: string[], context = 1): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: { op: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) (ops.push({ op: ' ', line: a[i]! }), i++, j++);
    else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) (ops.push({ op: '-', line: a[i]! }), i++);
    else (ops.push({ op: '+', line: b[j]! }), j++);
  }
  const keep = new Set<number>();
  ops.forEach((o, k) => {
    if (o.op !== ' ') for (let c = k - context; c <= k + context; c++) keep.add(c);
  });
  const out: string[] = [];
  let last = -2;
  ops.forEach((o, k) => {
    if (!keep.has(k)) return;
    if (k !== last + 1 && out.length) out.push('  ...');
    out.push(`${o.op} ${o.line}`);
    last = k;
  });
  return out;
}

// ---------------------------------------------------------------- env files

/** A value as it can be written to an env file, or an Error when it cannot be written safely. */
export function envLine(key: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`${key}: multi-line values are not supported`);
  if (/^[A-Za-z0-9_\-.:/@+=,%~^]*$/.test(value)) return `${key}=${value}`;
  if (!value.includes("'")) return `${key}='${value}'`;
  if (!/["\\$`]/.test(value)) return `${key}="${value}"`;
  throw new Error(`${key}: a value with both quote kinds cannot be written to an env file`);
}

/** The env file text with KEY set (its line replaced in place, or appended), or removed when value is undefined. */
export function editEnvText(text: string, key: string, value: string | undefined): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const re = new RegExp(`^\\s*(export\\s+)?${key}\\s*=`);
  const idx = lines.findIndex((l) => re.test(l));
  if (value === undefined) {
    if (idx >= 0) lines.splice(idx, 1);
  } else if (idx >= 0) lines[idx] = envLine(key, value);
  else lines.push(envLine(key, value));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

// ---------------------------------------------------------------- scale-owned values

/** Where scale records which replica values it set, so deploy keeps them (global is free-form in the schema). */
export const scaledMarker = 'global.todoOpsScaled';

/** Values paths scale may own. */
export const scaleKeys = (c: 'frontend' | 'backend') => [`${c}.replicaCount`, `${c}.autoscaling.minReplicas`, `${c}.autoscaling.maxReplicas`];

/**
 * The values deploy carries forward from the deployed release: the replica
 * values scale set (listed under global.todoOpsScaled), unless --reset-scale.
 */
export function carriedScaleValues(deployed: Values | undefined): Values {
  const owned = getPath(deployed, scaledMarker);
  if (!Array.isArray(owned)) return {};
  let out: Values = {};
  const kept: string[] = [];
  for (const p of owned) {
    if (typeof p !== 'string') continue;
    const v = getPath(deployed, p);
    if (v === undefined) continue;
    out = setPath(out, p, v);
    kept.push(p);
  }
  return kept.length ? setPath(out, scaledMarker, kept) : {};
}
