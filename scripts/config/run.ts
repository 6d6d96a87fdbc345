// config (K5): get, set, unset, diff, rotate. set/unset change the local files
// (env files; chart values in env/<profile>.values.local.yaml) that deploy reads;
// diff compares them with the deployed release; rotate applies at once: new
// value in the env file, the Secret updated, exactly its readers restarted.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { suiteSettings } from '../lib/main.ts';
import { doctorFindings, requireDoctor } from '../lib/preflight/checks.ts';
import { usageError } from '../lib/kit/errors.ts';
import { addSecret } from '../lib/kit/output.ts';
import { applyPlan } from '../lib/kit/plan.ts';
import {
  appSecretName,
  desiredSecretData,
  fingerprint,
  generateSecret,
  requiredSecretKeys,
} from '../lib/release/secrets.ts';
import { driftLine, releaseDrift } from '../lib/release/drift.ts';
import { getPath, mergeValues, setPath, type Values } from '../lib/release/values.ts';
import { diffManifests, manifestUnchanged } from '../lib/release/manifests.ts';
import { carriedScaleValues } from '../lib/release/scale-marker.ts';
import { shown, writeEnvKey } from '../lib/kit/env-files.ts';
import { profileSecretsFile } from '../lib/release/secrets-file.ts';
import { envDir } from '../lib/kit/env.ts';
import { observeRelease } from '../lib/release/history.ts';
import { chartPath, overlayFile, profileValuesFiles, readValuesFile, renderRelease } from '../lib/release/chart.ts';
import { applySecret } from '../lib/release/app-secret.ts';
import { waitWorkloads } from '../lib/release/rollout.ts';
import {
  assignmentValue,
  checkUnset,
  classifyKey,
  diffConfig,
  parseAssignments,
  planRotate,
  readsSecretKey,
  type RotateParams,
} from './plan.ts';
import { deploySettings, scaleSettings } from '../lib/release/settings.ts';
import type { Settings } from '../lib/kit/settings.ts';
import type { ConfigContext } from './spec.ts';

/** Every setting an env file may hold (shared ones and those of the scripts that change the release). */
export const envSchema: Settings = { ...suiteSettings, ...deploySettings, ...scaleSettings };

const valuesSchema = (ctx: ConfigContext) =>
  JSON.parse(fs.readFileSync(path.join(chartPath(ctx), 'values.schema.json'), 'utf8')) as object;

/** Where a non-secret setting is written: the profile's local file. */
const settingsFile = (profile: string) => path.join(envDir(), `${profile}.env.local`);

function deletePath(values: Values, dotted: string): Values {
  const out = structuredClone(values);
  const parts = dotted.split('.');
  const stack: Values[] = [out];
  for (const p of parts.slice(0, -1)) {
    const next = stack[stack.length - 1]![p];
    if (!next || typeof next !== 'object') return out;
    stack.push(next as Values);
  }
  delete stack[stack.length - 1]![parts[parts.length - 1]!];
  // Drop objects left empty.
  for (let i = stack.length - 1; i > 0; i--) if (!Object.keys(stack[i]!).length) delete stack[i - 1]![parts[i - 1]!];
  return out;
}

const readOverlay = (profile: string): Values =>
  fs.existsSync(overlayFile(profile)) ? readValuesFile(overlayFile(profile)) : {};
function writeOverlay(profile: string, v: Values): void {
  const f = overlayFile(profile);
  if (!Object.keys(v).length) fs.rmSync(f, { force: true });
  else
    fs.writeFileSync(
      f,
      `# Chart values set by \`config set\` for the ${profile} profile; deploy reads this after the profile's values file.\n${YAML.stringify(v)}`,
    );
}

type Params =
  | { kind: 'env'; file: string; key: string; value?: string }
  | { kind: 'value'; key: string; value?: unknown; unset?: boolean };

/** The command line against the env schema and the chart's values schema (local files only): before any cluster access. */
export function checkConfig(ctx: ConfigContext): void {
  const [sub, ...args] = ctx.positionals;
  switch (sub) {
    case 'set':
      if (!args.length) throw usageError('set needs KEY=VALUE arguments');
      parseAssignments(args, envSchema, valuesSchema(ctx));
      return;
    case 'unset':
      if (!args.length) throw usageError('unset needs KEY arguments');
      checkUnset(args.map((k) => classifyKey(k, envSchema, valuesSchema(ctx))));
      return;
    case 'get':
    case 'diff':
      return;
    case 'rotate':
      if (args.length !== 1) throw usageError('rotate needs one SECRET, e.g. config rotate BETTER_AUTH_SECRET');
      classifyKey(args[0]!, envSchema, valuesSchema(ctx));
      planRotate(args[0]!, { file: '', secretName: '', readers: [], newValue: '' });
      return;
    default:
      throw usageError(
        sub ? `unknown command "${sub}"` : 'a command is needed',
        'config get|set|unset|diff|rotate (see --help)',
      );
  }
}

export async function runConfig(ctx: ConfigContext): Promise<void> {
  const [sub, ...args] = ctx.positionals;
  const profile = ctx.cfg.profile;
  switch (sub) {
    case 'set': {
      const schema = valuesSchema(ctx);
      const as = parseAssignments(args, envSchema, schema);
      if (as.filter((a) => a.raw === '-' && a.key.kind === 'env' && a.key.secret).length > 1)
        throw usageError('only one secret can be read from stdin per run');
      let stdin: string | undefined;
      const read = () => (stdin ??= fs.readFileSync(0, 'utf8'));
      const plan = as.map((a) => {
        const value = assignmentValue(a, envSchema, read);
        if (a.key.kind === 'env') {
          const secret = a.key.secret;
          if (secret) addSecret(value as string);
          const file = secret ? profileSecretsFile(profile, a.key.key) : settingsFile(profile);
          return {
            what: 'set',
            target: a.key.key,
            reason: `${secret ? fingerprint(value as string) : JSON.stringify(value)} in ${shown(file)}`,
            params: { kind: 'env', file, key: a.key.key, value: value as string } as Params,
          };
        }
        return {
          what: 'set',
          target: a.key.key,
          reason: `${JSON.stringify(value)} in ${shown(overlayFile(profile))}`,
          params: { kind: 'value', key: a.key.key, value } as Params,
        };
      });
      await applyPlan<Params>(ctx, plan, async (a) => applyFileChange(profile, a.params!));
      ctx.result.finding({
        name: 'pending',
        level: 'info',
        detail: 'written to the local files: deploy applies it (config diff shows what differs from the release)',
        required: false,
      });
      return;
    }
    case 'unset': {
      if (!args.length) throw usageError('unset needs KEY arguments');
      const schema = valuesSchema(ctx);
      const keys = args.map((k) => classifyKey(k, envSchema, schema));
      checkUnset(keys);
      const plan = keys.flatMap((k) => {
        if (k.kind === 'value')
          return [
            {
              what: 'unset',
              target: k.key,
              reason: `from ${shown(overlayFile(profile))}`,
              params: { kind: 'value', key: k.key, unset: true } as Params,
            },
          ];
        const files = [path.join(envDir(), `${profile}.env.local`), path.join(envDir(), '.env.local')].filter(
          (f) =>
            fs.existsSync(f) && new RegExp(`^\\s*(export\\s+)?${k.key}\\s*=`, 'm').test(fs.readFileSync(f, 'utf8')),
        );
        return files.map((file) => ({
          what: 'unset',
          target: k.key,
          reason: `from ${shown(file)}`,
          params: { kind: 'env', file, key: k.key } as Params,
        }));
      });
      await applyPlan<Params>(ctx, plan, async (a) => applyFileChange(profile, a.params!));
      if (!plan.length)
        ctx.result.finding({
          name: 'unset',
          level: 'info',
          detail: `not set in the local files: ${args.join(', ')}`,
          required: false,
        });
      return;
    }
    case 'get':
    case 'diff': {
      const schema = valuesSchema(ctx);
      const keys = args.map((k) => classifyKey(k, envSchema, schema));
      const observed = await observeRelease(ctx, appSecretName(ctx.release));
      const secretName =
        (getPath(observed.deployed?.values, 'secrets.existingSecret') as string | undefined) ||
        appSecretName(ctx.release);
      const live =
        secretName === appSecretName(ctx.release)
          ? observed.liveSecret
          : (await observeRelease(ctx, secretName)).liveSecret;
      // What deploy would send: the files, deploy's own values, the replica values scale set.
      const localValues = mergeValues(
        ...profileValuesFiles(ctx).map(readValuesFile),
        { secrets: { existingSecret: appSecretName(ctx.release), create: false } },
        carriedScaleValues(observed.deployed?.values),
      );
      if (sub === 'diff') {
        const differences = diffConfig({
          localSecrets: desiredSecretData(ctx.cfg),
          liveSecret: live,
          localValues,
          deployedValues: observed.deployed?.values,
        });
        // The live objects against the deployed revision: what someone changed by hand, which deploy repairs.
        const drift = observed.deployed ? await releaseDrift(ctx, observed.deployed.manifest) : undefined;
        ctx.result.data = {
          differences,
          deployed: !!observed.deployed,
          ...(drift ? { drift: { items: drift.items, unchecked: drift.unchecked, checked: drift.checked } } : {}),
        };
        for (const d of drift?.items ?? [])
          ctx.result.finding({
            name: 'drift',
            level: 'warn',
            detail: driftLine(d),
            object: { kind: d.object.split('/')[0]!, name: d.object.split('/')[1]!, namespace: ctx.namespace },
            hint: 'npx zx scripts/deploy.ts puts back what the release sets',
            required: false,
          });
        for (const u of drift?.unchecked ?? [])
          ctx.result.finding({
            name: 'drift',
            level: 'info',
            detail: `${u.object}: not checked (${u.why})`,
            required: false,
          });
        for (const d of differences)
          ctx.result.finding({
            name: d.key,
            level: 'warn',
            detail: `local ${d.local}, deployed ${d.deployed}`,
            hint: 'npx zx scripts/deploy.ts applies the local value',
            required: false,
          });
        if (!differences.length && !drift?.items.length)
          ctx.result.finding({
            name: 'config',
            level: 'ok',
            detail: `the local files match the deployed release${drift ? `, and its ${drift.checked} live objects match it` : ''}`,
            required: false,
          });
        return;
      }
      const rows: { key: string; local: string; deployed: string; source?: string }[] = [];
      const all = keys.length
        ? keys
        : [...desiredKeys(), ...Object.keys(flatten(readOverlay(profile)))].map((k) =>
            classifyKey(k, envSchema, schema),
          );
      for (const k of all) {
        if (k.kind === 'env') {
          const local = ctx.cfg[k.key];
          const localShown = k.secret ? fingerprint(text(local)) : JSON.stringify(local);
          const deployed = k.appSecret
            ? live
              ? fingerprint(live[k.key])
              : '(no Secret)'
            : '(not deployed: a setting of the scripts)';
          rows.push({ key: k.key, local: localShown, deployed });
        } else
          rows.push({
            key: k.key,
            local: show(getPath(localValues, k.key)),
            deployed: show(getPath(observed.deployed?.values, k.key)),
          });
      }
      ctx.result.data = { keys: rows };
      for (const r of rows)
        ctx.result.finding({
          name: r.key,
          level: 'info',
          detail: `local ${r.local}, deployed ${r.deployed}`,
          required: false,
        });
      return;
    }
    case 'rotate':
      return rotate(ctx, args);
    default:
      throw usageError(
        sub ? `unknown command "${sub}"` : 'a command is needed',
        'config get|set|unset|diff|rotate (see --help)',
      );
  }
}

const desiredKeys = () => ['BETTER_AUTH_SECRET', 'DEMO_PASSWORD', 'OPENAI_API_KEY', 'DATABASE_URL'];
const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
/** A setting read by a key known only at run time: its value when it is text (every secret is). */
const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
function flatten(v: Values, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (x && typeof x === 'object' && !Array.isArray(x)) Object.assign(out, flatten(x as Values, p));
    else out[p] = x;
  }
  return out;
}

function applyFileChange(profile: string, p: Params): string {
  if (p.kind === 'env') {
    writeEnvKey(p.file, p.key, p.value);
    return shown(p.file);
  }
  const cur = readOverlay(profile);
  writeOverlay(profile, p.unset ? deletePath(cur, p.key) : setPath(cur, p.key, p.value));
  return shown(overlayFile(profile));
}

async function rotate(ctx: ConfigContext, args: string[]): Promise<void> {
  if (args.length !== 1) throw usageError('rotate needs one SECRET, e.g. config rotate BETTER_AUTH_SECRET');
  const key = args[0]!;
  classifyKey(key, envSchema, valuesSchema(ctx));
  planRotate(key, { file: '', secretName: '', readers: [], newValue: '' }); // refuses keys that cannot be generated, before any cluster call
  const before = ctx.result.findings.length;
  const [doctor, observed] = await Promise.all([doctorFindings(ctx), observeRelease(ctx, appSecretName(ctx.release))]);
  requireDoctor(ctx, doctor);
  // doctor passed: its table is not rotate's business (a failure would have ended the run above).
  const doctorTable = ctx.result.findings.splice(before);
  ctx.result.findings.push(...doctorTable.filter((f) => f.level === 'fail'));
  if (!observed.deployed)
    throw usageError(
      `release ${ctx.release} is not installed in namespace ${ctx.namespace}`,
      'npx zx scripts/deploy.ts',
    );
  const secretName = getPath(observed.deployed.values, 'secrets.existingSecret') as string | undefined;
  if (secretName !== appSecretName(ctx.release) || !observed.liveSecret)
    throw usageError(
      `release ${ctx.release} does not read its secrets from ${appSecretName(ctx.release)} (deployed with ${secretName ? `secrets.existingSecret=${secretName}` : 'the chart-created Secret'})`,
      'deploy it with scripts/deploy.ts first',
    );
  const kube = await ctx.kube();
  const sel = `app.kubernetes.io/instance=${ctx.release}`;
  const [deps, sts] = await Promise.all([
    kube.list<V1Deployment>('apps/v1', 'Deployment', ctx.namespace, sel),
    kube.list<V1StatefulSet>('apps/v1', 'StatefulSet', ctx.namespace, sel),
  ]);
  const readers = [
    ...deps
      .filter((d) => readsSecretKey(d.spec?.template.spec as never, secretName, key))
      .map((d) => ({ kind: 'Deployment' as const, name: d.metadata!.name! })),
    ...sts
      .filter((s) => readsSecretKey(s.spec?.template.spec as never, secretName, key))
      .map((s) => ({ kind: 'StatefulSet' as const, name: s.metadata!.name! })),
  ];
  const oldValue = observed.liveSecret[key];
  if (oldValue) addSecret(oldValue);
  addSecret(text(ctx.cfg[key]));
  const newValue = generateSecret();
  addSecret(newValue);
  const file = profileSecretsFile(ctx.cfg.profile, key);
  // A required key gone from the live Secret: the chart refuses to render without it, so it goes back first
  // (the rotated key with its new value; another from the env files, or generated and written there).
  const live = observed.liveSecret;
  const restore: { key: string; value: string; file?: string; from: string }[] = requiredSecretKeys
    .filter((k) => !live[k])
    .map((k) => {
      if (k === key) return { key: k, value: newValue, from: 'the new value' };
      const env = text(ctx.cfg[k]);
      const value = env || generateSecret();
      addSecret(value);
      const f = profileSecretsFile(ctx.cfg.profile, k);
      return env
        ? { key: k, value, from: `from ${shown(f)}` }
        : { key: k, value, file: f, from: `generated, written to ${shown(f)}` };
    });
  if (restore.length) {
    await applyPlan(
      ctx,
      [
        {
          what: 'restore secret keys',
          target: `secret/${secretName}`,
          reason: `missing from the live Secret (the chart needs them to render): ${restore.map((r) => `${r.key} (${fingerprint(r.value)}, ${r.from})`).join(', ')}`,
        },
      ],
      async () => {
        for (const r of restore) if (r.file) writeEnvKey(r.file, r.key, r.value);
        await applySecret(ctx, secretName, { ...live, ...Object.fromEntries(restore.map((r) => [r.key, r.value])) });
        return `restored ${restore.map((r) => r.key).join(', ')}`;
      },
    );
    for (const r of restore) live[r.key] = r.value;
    ctx.result.finding({
      name: 'secret repaired',
      level: ctx.dryRun ? 'warn' : 'info',
      detail: `secret/${secretName} had lost ${restore.map((r) => r.key).join(', ')}: ${ctx.dryRun ? 'would be restored' : 'restored'}`,
      required: false,
    });
  }
  // Through helm when the chart here renders exactly the deployed revision (the Secret not yet changed):
  // then the upgrade changes only the readers' checksum/secret.
  const deployedValues = observed.deployed.values;
  // (In a dry run that restores a key the chart cannot render yet: taken as in step, the usual case.)
  const inStep =
    (restore.length > 0 && ctx.dryRun) ||
    manifestUnchanged(
      diffManifests(observed.deployed.manifest, await renderRelease(ctx, { valuesFiles: [], values: deployedValues })),
    );
  if (!inStep)
    ctx.result.finding({
      name: 'rotate',
      level: 'info',
      detail: `the chart here (${ctx.cfg.TODO_CHART}) renders other changes than the deployed revision: the readers are restarted, and the next deploy records the rotation (and rolls them again)`,
      required: false,
    });
  const plan = planRotate(key, {
    file: shown(file),
    secretName,
    readers,
    oldValue,
    newValue,
    ...(inStep ? { release: ctx.release } : {}),
  });
  ctx.result.data = {
    key,
    from: fingerprint(oldValue),
    to: fingerprint(newValue),
    readers: readers.map((r) => `${r.kind.toLowerCase()}/${r.name}`),
  };
  const restarted: typeof readers = [];
  await applyPlan<RotateParams>(ctx, plan, async (a) => {
    const p = a.params!;
    if (p.step === 'env') return void writeEnvKey(file, key, newValue);
    if (p.step === 'secret')
      return void (await applySecret(ctx, secretName, { ...observed.liveSecret!, [key]: newValue }));
    if (p.step === 'upgrade') {
      const status = await (
        await ctx.helm()
      ).upgradeInstall({
        release: ctx.release,
        chart: chartPath(ctx),
        values: deployedValues,
        timeoutSec: ctx.timeoutSec,
      });
      restarted.push(...readers);
      return `revision ${status.version}`;
    }
    const w = p.workload!;
    await kube.mergePatch({
      apiVersion: 'apps/v1',
      kind: w.kind,
      metadata: { name: w.name, namespace: ctx.namespace },
      spec: {
        template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } },
      },
    } as never);
    restarted.push(w);
  });
  if (restarted.length && !ctx.dryRun) await waitWorkloads(ctx, restarted);
}
