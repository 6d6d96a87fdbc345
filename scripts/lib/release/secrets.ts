// The app Secret as data: its keys, its name, values built from the config,
// base64 both ways, and fingerprints (the only way a secret is ever shown).
// Pure; writing it to the cluster is app-secret.ts.
import { createHash, randomBytes } from 'node:crypto';

/** The keys of the app Secret (secrets.existingSecret): required first. */
export const appSecretKeys = [
  'BETTER_AUTH_SECRET',
  'DEMO_PASSWORD',
  'OPENAI_API_KEY',
  'DATABASE_URL',
  'POSTGRES_PASSWORD',
] as const;
export type AppSecretKey = (typeof appSecretKeys)[number];
export const requiredSecretKeys: readonly AppSecretKey[] = ['BETTER_AUTH_SECRET', 'DEMO_PASSWORD'];
/** Keys deploy and rotate may generate (random values nobody has to choose). */
export const generatedSecretKeys: readonly AppSecretKey[] = ['BETTER_AUTH_SECRET', 'DEMO_PASSWORD'];

/** The app Secret's name for a release (never the chart-created "<prefix>-secrets"). */
export const appSecretName = (release: string) => `${release}-app-secrets`;

/**
 * The in-cluster PostgreSQL reads its password from the app Secret
 * (postgresql.auth.existingSecret names it, key POSTGRES_PASSWORD: the local
 * profile): then the password is kept in the env files like the generated keys,
 * so that it outlives the cluster as the data directory initialised with it does.
 */
export function postgresPasswordInAppSecret(values: Record<string, unknown>, secretName: string): boolean {
  const pg = values.postgresql as
    { enabled?: boolean; auth?: { existingSecret?: string; secretKey?: string } } | undefined;
  return (
    pg?.enabled !== false &&
    pg?.auth?.existingSecret === secretName &&
    (pg.auth.secretKey ?? 'POSTGRES_PASSWORD') === 'POSTGRES_PASSWORD'
  );
}

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
export function secretChanges(
  live: Record<string, string> | undefined,
  desired: Record<string, string>,
): { key: string; change: 'added' | 'removed' | 'changed'; from: string; to: string }[] {
  const out: { key: string; change: 'added' | 'removed' | 'changed'; from: string; to: string }[] = [];
  const keys = [...new Set([...Object.keys(live ?? {}), ...Object.keys(desired)])].sort();
  for (const key of keys) {
    const a = live?.[key];
    const b = desired[key];
    if (a === b) continue;
    out.push({
      key,
      change: a === undefined ? 'added' : b === undefined ? 'removed' : 'changed',
      from: fingerprint(a),
      to: fingerprint(b),
    });
  }
  return out;
}
