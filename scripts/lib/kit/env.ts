// One typed config object from env/<profile>.env (committed, no secrets),
// env/.env.local and env/<profile>.env.local (ignored: real values and
// secrets), then the process environment. Later sources win.
//
// The schema is assembled from the settings each module declares (settings.ts):
// the shared ones below, and a script's own (its spec's `settings`, named
// TODO_<SCRIPT>_*). A key owned by another script is left for that script to
// check, so one env file serves every script; any other unknown key is a typo.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'dotenv';
import { OpsError, Exit } from './errors.ts';
import { notifySettings } from './notify.ts';
import {
  bool,
  defineSettings,
  dnsName,
  durationSeconds,
  oneOf,
  setting,
  str,
  type Setting,
  type Settings,
} from './settings.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../../..');
/** The env directory: TODO_ENV_DIR, else env/ in the repo. */
export const envDir = (env: NodeJS.ProcessEnv = process.env) => env.TODO_ENV_DIR ?? path.join(repoRoot, 'env');

/** Settings every script shares. */
const coreSettings = defineSettings({
  TODO_NAMESPACE: setting(dnsName, 'todo', 'namespace the app is deployed to'),
  TODO_RELEASE: setting(dnsName, 'todo-chatbot', 'Helm release name'),
  TODO_CONTEXT: setting(str, '', 'kube context (empty: the kubeconfig current context)'),
  TODO_TARGET: setting(
    oneOf('minikube', 'cluster'),
    'minikube',
    'minikube builds images into the node; cluster uses a registry',
  ),
  TODO_CHART: setting(str, 'charts/todo-chatbot', 'chart path, relative to the repo'),
  TODO_VALUES: setting(str, '', 'extra values file for the profile, relative to the repo'),
  TODO_IMAGE_REGISTRY: setting(str, '', 'registry prefix for images (empty for minikube)'),
  TODO_BUILDER: setting(oneOf('auto', 'docker', 'minikube', 'buildah'), 'auto', 'image builder'),
  TODO_REQUIRE_METRICS: setting(bool, true, 'doctor fails when the metrics API is missing'),
  TODO_AI: setting(oneOf('auto', 'off', 'kubectl-ai', 'kagent'), 'auto', 'optional AI layer'),
  TODO_STATE_DIR: setting(str, path.join(os.homedir(), '.local/state/todo-chatbot-ops'), 'history, samples and locks'),
  TODO_TIMEOUT: setting(durationSeconds, 300, 'default wait timeout, seconds or 5m'),
  TODO_WATCH_UNREACHABLE: setting(
    durationSeconds,
    60,
    'a --watch mode exits 3 after the cluster has been unreachable this long',
  ),
  BETTER_AUTH_SECRET: setting(str, '', 'JWT secret shared by frontend and backend', true),
  OPENAI_API_KEY: setting(str, '', 'LLM key for the chat agent (optional)', true),
  DATABASE_URL: setting(str, '', 'external PostgreSQL URL, e.g. Neon (empty: in-cluster PostgreSQL)', true),
  DEMO_PASSWORD: setting(str, '', 'frontend sign-in password; a deployed frontend refuses to start without it', true),
  POSTGRES_PASSWORD: setting(
    str,
    '',
    "in-cluster PostgreSQL's password, when the profile keeps it in the app Secret (local: generated once, kept with the data)",
    true,
  ),
});

/** The kit's own settings; the suite adds the AI layers' (scripts/lib/main.ts), a script its own. */
export const kitSettings: Settings = { ...coreSettings, ...notifySettings };

type Values<S extends Settings> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };
export type Config<S extends Settings = Record<never, Setting>> = Values<typeof coreSettings> &
  Values<S> & { profile: string; sources: string[]; secretKeys: string[]; [key: string]: unknown };

export interface LoadOptions {
  /** profile name; empty or undefined means $TODO_PROFILE, then minikube */
  profile?: string;
  env?: NodeJS.ProcessEnv;
  envDir?: string;
  /** the settings beyond the kit's: the suite's shared ones and the running script's own (TODO_<SCRIPT>_*) */
  settings?: Settings;
}

/** Names other than settings that the suite reads from the environment. */
const knownVariables = ['TODO_PROFILE', 'TODO_ENV_DIR', 'TODO_KUBE_CLIENT_BUNDLE'];

/** TODO_<NAME>_ prefixes of every script in scripts/ and ops/: their keys are theirs to check. */
function scriptPrefixes(): string[] {
  return ['scripts', 'ops'].flatMap((d) => {
    const dir = path.join(repoRoot, d);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `TODO_${f.slice(0, -3).toUpperCase().replace(/-/g, '_')}_`);
  });
}

export function loadConfig<S extends Settings = Record<never, Setting>>(
  opts: LoadOptions & { settings?: S } = {},
): Config<S> {
  const env = opts.env ?? process.env;
  const dir = opts.envDir ?? envDir(env);
  // An empty value means "not set", as in a shell `TODO_PROFILE= cmd`.
  const profile = opts.profile || env.TODO_PROFILE || 'minikube';
  const schema: Settings = { ...kitSettings, ...opts.settings };
  if (!/^[a-z0-9-]+$/.test(profile))
    throw new OpsError(
      `bad profile name "${profile}"`,
      Exit.usage,
      'profile names are lower-case letters, digits and dashes',
    );
  const profileFile = path.join(dir, `${profile}.env`);
  if (!fs.existsSync(profileFile)) {
    const known = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => /^[a-z0-9-]+\.env$/.test(f))
          .map((f) => f.slice(0, -4))
      : [];
    throw new OpsError(
      `unknown profile "${profile}": ${profileFile} does not exist`,
      Exit.usage,
      `profiles: ${known.join(', ') || 'none'}`,
    );
  }
  let others: string[] | undefined;
  const ownedElsewhere = (k: string) => (others ??= scriptPrefixes()).some((p) => k.startsWith(p));
  const known = () => `known keys: ${Object.keys(schema).join(', ')}`;

  const raw: Record<string, { value: string; from: string }> = {};
  const sources: string[] = [];
  for (const file of [profileFile, path.join(dir, '.env.local'), path.join(dir, `${profile}.env.local`)]) {
    if (!fs.existsSync(file)) continue;
    sources.push(path.relative(repoRoot, file));
    let entries: Record<string, string>;
    try {
      entries = parseEnvFile(fs.readFileSync(file, 'utf8'), file);
    } catch (e) {
      throw new OpsError((e as Error).message, Exit.usage);
    }
    for (const [k, value] of Object.entries(entries)) {
      if (!(k in schema)) {
        if (ownedElsewhere(k)) continue;
        throw new OpsError(`unknown key ${k} in ${file}`, Exit.usage, known());
      }
      if (file === profileFile && schema[k]!.secret && value)
        throw new OpsError(
          `${k} is a secret and must not be set in the committed ${file}`,
          Exit.usage,
          `put it in ${path.join(dir, '.env.local')}`,
        );
      raw[k] = { value, from: file };
    }
  }
  for (const [k, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (k in schema) raw[k] = { value, from: 'the environment' };
    // TODO_OPS_* belong to the project's tooling (test bed, caches), not to a profile.
    else if (k.startsWith('TODO_') && !k.startsWith('TODO_OPS_') && !knownVariables.includes(k) && !ownedElsewhere(k))
      throw new OpsError(`unknown setting ${k} in the environment`, Exit.usage, known());
  }
  const out: Record<string, unknown> = {
    profile,
    sources,
    secretKeys: Object.keys(schema).filter((k) => schema[k]!.secret),
  };
  for (const [k, spec] of Object.entries(schema)) {
    const r = raw[k];
    try {
      out[k] = r === undefined ? spec.default : spec.parse(r.value.trim(), k);
    } catch (e) {
      throw new OpsError(`${(e as Error).message} (in ${r!.from})`, Exit.usage);
    }
  }
  return out as Config<S>;
}

/**
 * dotenv's parser skips lines it cannot read; a typo there would silently drop
 * a setting. Every non-blank, non-comment line must be KEY=VALUE.
 */
function parseEnvFile(text: string, file: string): Record<string, string> {
  const lines = text.split(/\r?\n/);
  let quote: string | undefined;
  for (const [i, line] of lines.entries()) {
    if (quote) {
      if (line.includes(quote)) quote = undefined;
      continue;
    }
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(t);
    // The line may hold a secret typed with the wrong separator: name its key, never its text.
    if (!m) {
      const key = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)/.exec(t)?.[1];
      throw new Error(`${file}:${i + 1}: not KEY=VALUE${key ? ` (key ${key}, no "=" after it)` : ''}`);
    }
    const v = m[2]!;
    const q = v[0];
    if ((q === '"' || q === "'" || q === '`') && !v.slice(1).includes(q)) quote = q; // a multi-line quoted value
  }
  if (quote) throw new Error(`${file}: unterminated ${quote} quote`);
  return parse(text);
}

/** The config with secrets replaced by whether they are set: safe to print or log. */
export function redacted(cfg: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cfg };
  delete out.secretKeys;
  for (const k of cfg.secretKeys) out[k] = cfg[k] ? '(set)' : '(unset)';
  return out;
}
