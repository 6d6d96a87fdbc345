// One typed config object from env/<profile>.env (committed, no secrets),
// env/.env.local and env/<profile>.env.local (ignored: real values and
// secrets), then the process environment. Later sources win.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'dotenv';
import { OpsError, Exit } from './errors.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const envDir = process.env.TODO_ENV_DIR ?? path.join(repoRoot, 'env');

type Parser<T> = (raw: string, key: string) => T;
interface Key<T> {
  parse: Parser<T>;
  default: T;
  secret?: boolean;
  help: string;
}

const str: Parser<string> = (v) => v;
const oneOf =
  <T extends string>(...allowed: T[]): Parser<T> =>
  (v, key) => {
    if (!(allowed as string[]).includes(v)) throw new Error(`${key} must be one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  };
const bool: Parser<boolean> = (v, key) => {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off|)$/i.test(v)) return false;
  throw new Error(`${key} must be true or false, got "${v}"`);
};
const dnsName: Parser<string> = (v, key) => {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v)) throw new Error(`${key} must be a DNS-1123 label, got "${v}"`);
  return v;
};
const key = <T>(parse: Parser<T>, def: T, help: string, secret = false): Key<T> => ({ parse, default: def, help, secret });

/** Every setting the suite knows. Anything else in an env file is a typo and an error. */
export const schema = {
  TODO_NAMESPACE: key(dnsName, 'todo', 'namespace the app is deployed to'),
  TODO_RELEASE: key(dnsName, 'todo-chatbot', 'Helm release name'),
  TODO_CONTEXT: key(str, '', 'kube context (empty: the kubeconfig current context)'),
  TODO_TARGET: key(oneOf('minikube', 'cluster'), 'minikube', 'minikube builds images into the node; cluster uses a registry'),
  TODO_CHART: key(str, 'charts/todo-chatbot', 'chart path, relative to the repo'),
  TODO_VALUES: key(str, '', 'extra values file for the profile, relative to the repo'),
  TODO_IMAGE_REGISTRY: key(str, '', 'registry prefix for images (empty for minikube)'),
  TODO_BUILDER: key(oneOf('auto', 'docker', 'minikube', 'buildah'), 'auto', 'image builder'),
  TODO_REQUIRE_METRICS: key(bool, true, 'doctor fails when the metrics API is missing'),
  TODO_AI: key(oneOf('auto', 'off', 'kubectl-ai', 'kagent'), 'auto', 'optional AI layer'),
  TODO_STATE_DIR: key(str, path.join(os.homedir(), '.local/state/todo-chatbot-ops'), 'history, samples and locks'),
  TODO_TIMEOUT: key((v, k) => duration(v, k), 300, 'default wait timeout, seconds or 5m'),
  BETTER_AUTH_SECRET: key(str, '', 'JWT secret shared by frontend and backend', true),
  OPENAI_API_KEY: key(str, '', 'LLM key for the chat agent (optional)', true),
  DATABASE_URL: key(str, '', 'external PostgreSQL URL, e.g. Neon (empty: in-cluster PostgreSQL)', true),
} satisfies Record<string, Key<unknown>>;

type Schema = typeof schema;
export type Config = { [K in keyof Schema]: Schema[K]['default'] } & { profile: string; sources: string[] };
export const secretKeys = (Object.keys(schema) as (keyof Schema)[]).filter((k) => schema[k].secret);

/** Parses "90", "90s", "5m", "1h" into seconds. */
export function duration(v: string, name = 'duration'): number {
  const m = /^(\d+)(s|m|h)?$/.exec(v.trim());
  if (!m) throw new Error(`${name} must be like 90, 90s, 5m or 1h, got "${v}"`);
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[m[2] ?? 's'] as number);
}

export function loadConfig(profile = process.env.TODO_PROFILE || 'minikube', env: NodeJS.ProcessEnv = process.env): Config {
  if (!/^[a-z0-9-]+$/.test(profile)) throw new OpsError(`bad profile name "${profile}"`, Exit.usage);
  const profileFile = path.join(envDir, `${profile}.env`);
  if (!fs.existsSync(profileFile)) {
    const known = fs.existsSync(envDir) ? fs.readdirSync(envDir).filter((f) => /^[a-z0-9-]+\.env$/.test(f)).map((f) => f.slice(0, -4)) : [];
    throw new OpsError(`unknown profile "${profile}": ${profileFile} does not exist`, Exit.usage, `profiles: ${known.join(', ') || 'none'}`);
  }
  const raw: Record<string, { value: string; from: string }> = {};
  const sources: string[] = [];
  for (const file of [profileFile, path.join(envDir, '.env.local'), path.join(envDir, `${profile}.env.local`)]) {
    if (!fs.existsSync(file)) continue;
    sources.push(path.relative(repoRoot, file));
    for (const [k, value] of Object.entries(parse(fs.readFileSync(file)))) {
      if (!(k in schema)) throw new OpsError(`unknown key ${k} in ${file}`, Exit.usage, `known keys: ${Object.keys(schema).join(', ')}`);
      if (file === profileFile && schema[k as keyof Schema].secret && value)
        throw new OpsError(`${k} is a secret and must not be set in the committed ${file}`, Exit.usage, `put it in ${path.join(envDir, '.env.local')}`);
      raw[k] = { value, from: file };
    }
  }
  for (const [k, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (k in schema) raw[k] = { value, from: 'the environment' };
    // TODO_OPS_* belong to the project's tooling (test bed, caches), not to a profile.
    else if (k.startsWith('TODO_') && !k.startsWith('TODO_OPS_') && !['TODO_PROFILE', 'TODO_ENV_DIR'].includes(k))
      throw new OpsError(`unknown setting ${k} in the environment`, Exit.usage, `known keys: ${Object.keys(schema).join(', ')}`);
  }
  const out: Record<string, unknown> = { profile, sources };
  for (const [k, spec] of Object.entries(schema) as [string, Key<unknown>][]) {
    const r = raw[k];
    try {
      out[k] = r === undefined ? spec.default : spec.parse(r.value.trim(), k);
    } catch (e) {
      throw new OpsError(`${(e as Error).message} (in ${r!.from})`, Exit.usage);
    }
  }
  return out as Config;
}

/** The config with secrets replaced by whether they are set: safe to print or log. */
export function redacted(cfg: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cfg };
  for (const k of secretKeys) out[k] = cfg[k] ? '(set)' : '(unset)';
  return out;
}
