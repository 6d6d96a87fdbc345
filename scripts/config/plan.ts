// config's decisions (pure): which keys exist (the env schema: settings; the
// chart's values schema: dotted values paths), what a set/unset/rotate changes,
// and what differs between the local files and the deployed release. Secrets
// only ever appear as fingerprints.
import { usageError } from '../lib/kit/errors.ts';
import type { PlannedAction } from '../lib/kit/plan.ts';
import { appSecretKeys, fingerprint, generatedSecretKeys, requiredSecretKeys } from '../lib/release/secrets.ts';
import { changedPaths, coerceValue, getPath, schemaAt, type Values } from '../lib/release/values.ts';
import type { Settings } from '../lib/kit/settings.ts';

export type KeyKind =
  | { kind: 'env'; key: string; secret: boolean; appSecret: boolean }
  | { kind: 'value'; key: string; node: Parameters<typeof schemaAt>[0] };

/** A key is an env setting (UPPER_CASE) or a chart values path (dotted); anything else is a usage error. */
export function classifyKey(key: string, envSchema: Settings, valuesSchema: object): KeyKind {
  if (/^[A-Z][A-Z0-9_]*$/.test(key)) {
    const s = envSchema[key];
    if (!s)
      throw usageError(
        `unknown key ${key}: not a setting of the env schema`,
        `settings: ${Object.keys(envSchema).join(', ')}; chart values are dotted paths, e.g. backend.config.logLevel`,
      );
    return { kind: 'env', key, secret: !!s.secret, appSecret: (appSecretKeys as readonly string[]).includes(key) };
  }
  const node = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/.test(key) ? schemaAt(valuesSchema, key) : undefined;
  if (!node)
    throw usageError(
      `unknown key ${key}: not a setting, nor a value of the chart's values.schema.json`,
      'chart values are dotted paths, e.g. backend.config.logLevel',
    );
  if (key.startsWith('secrets.') || key === 'externalDatabase.url')
    throw usageError(
      `${key} is managed by deploy (the app Secret): set BETTER_AUTH_SECRET, DEMO_PASSWORD, OPENAI_API_KEY or DATABASE_URL instead`,
    );
  return { kind: 'value', key, node };
}

export interface Assignment {
  key: KeyKind;
  /** the raw text; "-" for a secret means: read it from stdin */
  raw: string;
}

/** KEY=VALUE arguments, every key and value checked before anything changes. */
export function parseAssignments(args: string[], envSchema: Settings, valuesSchema: object): Assignment[] {
  if (!args.length) throw usageError('set needs KEY=VALUE arguments');
  return args.map((a) => {
    const eq = a.indexOf('=');
    if (eq <= 0) throw usageError(`expected KEY=VALUE, got "${a.replace(/=.*/, '=...')}"`);
    const key = classifyKey(a.slice(0, eq), envSchema, valuesSchema);
    const raw = a.slice(eq + 1);
    if (key.kind === 'env' && key.secret) {
      if (raw === '')
        throw usageError(
          `${key.key}: empty value refused`,
          (generatedSecretKeys as readonly string[]).includes(key.key)
            ? `for a new value: config rotate ${key.key}`
            : `to remove it: config unset ${key.key}`,
        );
      if (raw !== '-')
        throw usageError(
          `${key.key} is a secret: it is read from stdin, never from the command line`,
          `printf %s "$VALUE" | npx zx scripts/config.ts set ${key.key}=-`,
        );
    }
    return { key, raw };
  });
}

/** The typed value of an assignment (secrets: the stdin text), validated by its schema. */
export function assignmentValue(a: Assignment, envSchema: Settings, stdin: () => string): string | unknown {
  if (a.key.kind === 'env') {
    const v = a.key.secret ? stdin().replace(/\r?\n$/, '') : a.raw;
    if (a.key.secret && v === '') throw usageError(`${a.key.key}: empty value on stdin refused`);
    try {
      envSchema[a.key.key]!.parse(v, a.key.key);
    } catch (e) {
      throw usageError((e as Error).message);
    }
    return v;
  }
  try {
    return coerceValue(a.key.node as never, a.key.key, a.raw);
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

export function checkUnset(keys: KeyKind[]): void {
  for (const k of keys)
    if (k.kind === 'env' && (requiredSecretKeys as readonly string[]).includes(k.key))
      throw usageError(
        `${k.key} is required by the app: it cannot be unset`,
        `for a new value: config rotate ${k.key}`,
      );
}

export interface ConfigDifference {
  key: string;
  local: string;
  deployed: string;
}

/**
 * Local (env files, values files) against the deployed release: the app
 * Secret's keys by fingerprint, the chart values by path (only paths the
 * local files set, so deploy's own values such as images are not noise).
 */
export function diffConfig(o: {
  localSecrets: Record<string, string>;
  liveSecret?: Record<string, string>;
  localValues: Values;
  deployedValues?: Values;
}): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  for (const k of appSecretKeys) {
    const a = o.localSecrets[k];
    const b = o.liveSecret?.[k];
    if (a !== b) out.push({ key: k, local: fingerprint(a), deployed: o.liveSecret ? fingerprint(b) : '(no Secret)' });
  }
  for (const p of changedPaths(o.localValues, pick(o.deployedValues ?? {}, o.localValues))) {
    out.push({ key: p, local: show(getPath(o.localValues, p)), deployed: show(getPath(o.deployedValues, p)) });
  }
  return out;
}

/** The parts of `from` at the paths `shape` has. */
function pick(from: Values, shape: Values): Values {
  const out: Values = {};
  for (const [k, v] of Object.entries(shape)) {
    const f = from[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && f && typeof f === 'object' && !Array.isArray(f))
      out[k] = pick(f as Values, v as Values);
    else if (k in from) out[k] = f;
  }
  return out;
}

const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));

export interface RotateParams {
  step: 'env' | 'secret' | 'restart' | 'upgrade';
  workload?: { kind: 'Deployment' | 'StatefulSet'; name: string };
}

/**
 * rotate: update the Secret, write the env file, then roll exactly the workloads that read the key.
 * With `release` (the chart here renders the deployed revision) that is one helm upgrade with the
 * deployed values: the readers' checksum/secret changes, so they roll, and the rotation is a recorded
 * revision the next deploy has nothing to add to. Otherwise each reader is restarted.
 */
export function planRotate(
  key: string,
  o: {
    file: string;
    secretName: string;
    readers: { kind: 'Deployment' | 'StatefulSet'; name: string }[];
    oldValue?: string;
    newValue: string;
    release?: string;
  },
): PlannedAction<RotateParams>[] {
  if (!(generatedSecretKeys as readonly string[]).includes(key))
    throw usageError(
      `${key} cannot be generated: rotate works on ${generatedSecretKeys.join(', ')}`,
      `set a new value with: config set ${key}=- (read from stdin)`,
    );
  const readers = o.readers.map((w) => `${w.kind.toLowerCase()}/${w.name}`);
  const roll: PlannedAction<RotateParams>[] =
    o.release && readers.length
      ? [
          {
            what: 'helm upgrade',
            target: `release/${o.release}`,
            reason: `records the rotation; rolls ${readers.join(', ')} (their pods read ${key})`,
            params: { step: 'upgrade' },
          },
        ]
      : o.readers.map((w, i) => ({
          what: 'restart',
          target: readers[i]!,
          reason: `its pods read ${key}`,
          params: { step: 'restart' as const, workload: w },
        }));
  // The Secret first: if the cluster refuses, the env file still matches what is deployed.
  return [
    {
      what: 'update secret',
      target: `secret/${o.secretName}`,
      reason: `${key} ${fingerprint(o.oldValue)} -> ${fingerprint(o.newValue)}`,
      params: { step: 'secret' },
    },
    { what: 'write', target: o.file, reason: `${key} ${fingerprint(o.newValue)}`, params: { step: 'env' } },
    ...roll,
  ];
}

interface PodSpecLike {
  containers?: {
    env?: { valueFrom?: { secretKeyRef?: { name?: string; key?: string } } }[];
    envFrom?: { secretRef?: { name?: string } }[];
  }[];
  initContainers?: PodSpecLike['containers'];
}

/** Does a pod template read KEY of the Secret (env secretKeyRef, or envFrom the whole Secret)? */
export function readsSecretKey(spec: PodSpecLike | undefined, secretName: string, key: string): boolean {
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].some(
    (c) =>
      c.env?.some((e) => e.valueFrom?.secretKeyRef?.name === secretName && e.valueFrom.secretKeyRef.key === key) ||
      c.envFrom?.some((e) => e.secretRef?.name === secretName),
  );
}
