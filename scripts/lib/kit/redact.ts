// What counts as a secret in structured data (helm values, pod specs) that the
// scrubber cannot know by value: anything under a secret-looking key. Each
// value redacted here is also registered with the scrubber, so it cannot leak
// through another file or line.
import { addSecret } from './output.ts';

const secretKey =
  /(secret|password|passwd|token|api[_-]?key|apikey|credential|private[_-]?key|auth|dsn|url|connection[_-]?string)/i;
/** Identifiers, not secrets, even under a secret-looking parent (auth.username, externalDatabase.host). */
export const plainKey =
  /^(user(name)?|host(name)?|port|database|db(name)?|existingSecret|secretKey|.*[_-](user|username|host|port|db|database))$/i;

/**
 * Helm values with every value under a secret-looking key (secrets.*, *password*,
 * *token*, *url*...) replaced by "<redacted>"; the replaced values are
 * registered with the scrubber so they cannot leak through another file.
 */
export function redactValues(v: unknown, under = false, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => redactValues(x, under, key));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactValues(x, under || secretKey.test(k), k)]));
  if (under && !plainKey.test(key) && typeof v === 'string' && v !== '') {
    addSecret(v);
    return '<redacted>';
  }
  return v;
}

/** Plain env values in pod specs under secret-looking names: redacted too (they belong in a Secret). */
export function redactEnv<T>(obj: T): T {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (!x || typeof x !== 'object' || x instanceof Date) return x;
    const o = x as Record<string, unknown>;
    if (
      typeof o.name === 'string' &&
      typeof o.value === 'string' &&
      secretKey.test(o.name) &&
      Object.keys(o).every((k) => k === 'name' || k === 'value')
    ) {
      if (o.value) addSecret(o.value);
      return { name: o.name, value: '<redacted>' };
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, walk(v)]));
  };
  return walk(obj) as T;
}
