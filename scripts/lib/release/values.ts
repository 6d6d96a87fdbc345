// Chart values as data: Helm's layering, dotted paths, equality and the paths
// that differ, and the chart's values schema (which paths exist, and a
// command-line value converted and checked for one). Pure; values files are chart.ts.
export type Values = Record<string, unknown>;
const isObj = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's way of layering values files: maps merge key by key, anything else is replaced. */
export function mergeValues(...layers: (Values | undefined)[]): Values {
  const out: Values = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer))
      out[k] = isObj(v) && isObj(out[k]) ? mergeValues(out[k] as Values, v) : structuredClone(v);
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
  if (isObj(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
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
    else if (
      cur.additionalProperties === true ||
      (cur.type === 'object' && !cur.properties && cur.additionalProperties === undefined)
    )
      cur = {};
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
  else if (types.length && !types.includes('string'))
    throw new Error(`${key} must be ${types.join(' or ')}, got "${raw}"`);
  if (types.includes('integer') && typeof v === 'number' && !Number.isInteger(v))
    throw new Error(`${key} must be an integer, got ${raw}`);
  if (typeof v === 'number') {
    if (node.minimum !== undefined && v < node.minimum)
      throw new Error(`${key} must be at least ${node.minimum}, got ${v}`);
    if (node.maximum !== undefined && v > node.maximum)
      throw new Error(`${key} must be at most ${node.maximum}, got ${v}`);
  }
  if (node.enum && !node.enum.some((e) => sameData(e, v)))
    throw new Error(`${key} must be one of ${node.enum.map((e) => JSON.stringify(e)).join(', ')}, got "${raw}"`);
  if (typeof v === 'string' && node.pattern && !new RegExp(node.pattern).test(v))
    throw new Error(`${key}: "${raw}" does not match ${node.pattern}`);
  return v;
}
