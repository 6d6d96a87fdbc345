// deploy (K1): gather the inputs, check them, observe the release, plan
// (plan.ts), apply, wait with progress, roll back on a failed rollout.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/kit/env.ts';
import { run } from '../lib/kit/shell.ts';
import { doctorFindings, requireDoctor } from '../lib/preflight/checks.ts';
import { OpsError, usageError } from '../lib/kit/errors.ts';
import { addSecret } from '../lib/kit/output.ts';
import { applyPlan } from '../lib/kit/plan.ts';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { scriptArgv } from '../lib/kit/cli.ts';
import {
  driftedObjects,
  planDeploy,
  planSecretRepair,
  podSecurityLabels,
  postgresMajorChange,
  postgresMajorRefusal,
  postgresOf,
  livePostgres,
  type DeployParams,
} from './plan.ts';
import { driftLine, releaseDrift, type DriftResult } from '../lib/release/drift.ts';
import type { DeployContext } from './spec.ts';
import {
  appSecretName,
  desiredSecretData,
  fingerprint,
  generateSecret,
  generatedSecretKeys,
  postgresPasswordInAppSecret,
} from '../lib/release/secrets.ts';
import { parseImageFlags, parseImageRef } from '../lib/release/images.ts';
import { mergeValues, type Values } from '../lib/release/values.ts';
import { carriedScaleValues } from '../lib/release/scale-marker.ts';
import { workloadsOf } from '../lib/release/manifests.ts';
import { shown, writeEnvKey } from '../lib/kit/env-files.ts';
import { fileSetting, profileSecretsFile } from '../lib/release/secrets-file.ts';
import { releaseHistory, observeRelease } from '../lib/release/history.ts';
import { chartPath, profileValuesFiles, readValuesFile, renderRelease } from '../lib/release/chart.ts';
import { applySecret } from '../lib/release/app-secret.ts';
import { crashLogs, rollBack, settle, waitWorkloads } from '../lib/release/rollout.ts';

/**
 * --build: runs build-images (same profile; --dry-run passed on, which still
 * names the images it would build) and returns the path of its JSON result.
 */
export async function buildImages(ctx: DeployContext): Promise<string> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-build-')), 'images.json');
  const args = [
    path.join(repoRoot, 'node_modules/zx/build/cli.js'),
    path.join(repoRoot, 'scripts/build-images.ts'),
    '--profile',
    ctx.cfg.profile,
    '-o',
    'json',
    ...(ctx.dryRun ? ['--dry-run'] : []),
  ];
  const res = await ctx.out.progress('building images (build-images)', () =>
    run(process.execPath, [...process.execArgv, ...args], {
      what: 'build-images',
      timeout: '30m',
      log: (m) => ctx.out.debug(m),
    }),
  );
  fs.writeFileSync(out, res.stdout);
  return out;
}

/** Image values from --images (build-images' JSON) then --image flags; the chart's defaults otherwise. */
export function imageValues(opts: Pick<DeployContext['opts'], 'image' | 'images'>): Values {
  let refs: Partial<Record<'frontend' | 'backend', string>> = {};
  if (opts.images) {
    let doc: { data?: { images?: Record<string, string> }; images?: Record<string, string> };
    try {
      doc = JSON.parse(fs.readFileSync(opts.images, 'utf8'));
    } catch (e) {
      throw usageError(
        `--images ${opts.images}: ${(e as Error).message.split('\n')[0]}`,
        'pass the output of: npx zx scripts/build-images.ts --output json',
      );
    }
    const imgs = doc.data?.images ?? doc.images ?? {};
    refs = {
      ...(imgs.frontend ? { frontend: imgs.frontend } : {}),
      ...(imgs.backend ? { backend: imgs.backend } : {}),
    };
  }
  try {
    refs = { ...refs, ...parseImageFlags(opts.image) };
    const out: Values = {};
    for (const [c, ref] of Object.entries(refs)) out[c] = { image: parseImageRef(ref!) };
    return out;
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

export async function runDeploy(ctx: DeployContext): Promise<void> {
  const opts = ctx.opts;
  // 1. Inputs, all checked before the cluster is asked anything.
  if (opts.build && opts.images) throw usageError('--build and --images exclude each other');
  imageValues(opts); // bad references are refused before anything is built
  let images = imageValues(opts.build ? { ...opts, images: await buildImages(ctx) } : opts);
  // The profile's registry (TODO_IMAGE_REGISTRY) for an image given no reference: the chart's repository and tag from it.
  const registry = ctx.cfg.TODO_IMAGE_REGISTRY.replace(/\/+$/, '');
  if (registry)
    for (const c of ['frontend', 'backend'])
      if (!images[c]) images = mergeValues(images, { [c]: { image: { registry } } });
  const userFiles = opts.values.map((f) => path.resolve(f));
  const valuesFiles = [...profileValuesFiles(ctx), ...userFiles];
  const fileValues = valuesFiles.map(readValuesFile);
  const secretName = appSecretName(ctx.release);

  // 2. The release as it is.
  const observed = await observeRelease(ctx, secretName);

  // 3. The Secret: from the env files; a missing generated key keeps the deployed value, else is generated.
  const secretCfg: Record<string, string> = { ...desiredSecretData(ctx.cfg) };
  const origin: Record<string, string> = Object.fromEntries(
    Object.keys(secretCfg).map((k) => [
      k,
      `(${fingerprint(secretCfg[k])}, from ${((f) => (f ? shown(f) : 'the environment'))(fileSetting(ctx.cfg.profile, k))})`,
    ]),
  );
  const toWrite: { key: string; value: string; file: string; why: string }[] = [];
  const generated = postgresPasswordInAppSecret(mergeValues(...fileValues), secretName)
    ? [...generatedSecretKeys, 'POSTGRES_PASSWORD' as const]
    : generatedSecretKeys;
  for (const k of generated) {
    if (secretCfg[k]) continue;
    const live = observed.liveSecret?.[k];
    const value = live || generateSecret();
    addSecret(value);
    secretCfg[k] = value;
    toWrite.push({
      key: k,
      value,
      file: profileSecretsFile(ctx.cfg.profile, k),
      why: live ? 'kept the deployed value' : 'generated',
    });
    origin[k] = `(${fingerprint(value)}, ${live ? 'the deployed value' : 'generated'})`;
  }
  for (const w of toWrite)
    ctx.result.finding({
      name: `secret ${w.key}`,
      level: 'info',
      detail: `not in the env files: ${w.why} (${fingerprint(w.value)}); ${ctx.dryRun ? 'would be written' : 'written'} to ${shown(w.file)}`,
      required: false,
    });

  // 4. The values helm will store, and the chart rendered with them.
  const carried = opts['reset-scale'] ? {} : carriedScaleValues(observed.deployed?.values);
  const deployValues: Values = mergeValues({ secrets: { existingSecret: secretName, create: false } }, images, carried);
  const values = mergeValues(...fileValues, deployValues);
  if (Object.keys(carried).length)
    ctx.result.finding({
      name: 'scale',
      level: 'info',
      detail: `keeping the replica values set by scale: ${(carried.global as { todoOpsScaled: string[] }).todoOpsScaled.join(', ')}`,
      hint: "deploy --reset-scale uses the profile's instead",
      required: false,
    });

  // 4b. A required key gone from the live Secret: the chart will not render until it is back, so it goes back first.
  let liveSecret = observed.liveSecret;
  const repair = planSecretRepair(liveSecret, secretCfg, secretName, origin);
  if (repair) {
    requireDoctor(ctx, await doctorFindings(ctx));
    if (!ctx.dryRun) for (const w of toWrite) writeEnvKey(w.file, w.key, w.value);
    const keys = repair.params!.kind === 'secret' ? repair.params!.changes.map((c) => c.key) : [];
    const restored = { ...liveSecret, ...Object.fromEntries(keys.map((k) => [k, secretCfg[k]!])) };
    await applyPlan<DeployParams>(ctx, [repair], async () => {
      await applySecret(ctx, secretName, restored);
      return `restored ${keys.join(', ')}`;
    });
    // The plan below starts from the Secret as it is now (in a dry run: as it would be).
    liveSecret = restored;
    ctx.result.finding({
      name: 'secret repaired',
      level: ctx.dryRun ? 'warn' : 'info',
      detail: `secret/${secretName} had lost ${keys.join(', ')}: ${ctx.dryRun ? 'would be restored' : 'restored'} ${keys.map((k) => origin[k]).join(', ')}`,
      required: false,
    });
  }
  // In a dry run the Secret is still short of the key: the chart cannot render, the deployed manifest stands in.
  const manifest =
    repair && ctx.dryRun
      ? (observed.deployed?.manifest ?? '')
      : await renderRelease(ctx, { valuesFiles, values: deployValues });
  if (repair && ctx.dryRun)
    ctx.result.finding({
      name: 'render',
      level: 'info',
      detail: 'the chart renders only once the Secret has its keys: the manifest diff is left out of this dry run',
      required: false,
    });

  // 4b'. Another PostgreSQL major on the live data: refused before anything changes (one GET).
  const pg = postgresOf(manifest);
  if (pg) {
    const live = await (await ctx.kube()).read<V1StatefulSet>('apps/v1', 'StatefulSet', pg.statefulSet, ctx.namespace);
    const change = postgresMajorChange(livePostgres(live), pg);
    if (change)
      throw postgresMajorRefusal(change, {
        namespace: ctx.namespace,
        kubectlFlags: [
          ...(ctx.kubeconfig ? ['--kubeconfig', ctx.kubeconfig] : []),
          ...(ctx.context ? ['--context', ctx.context] : []),
        ],
        // This run again, for real: the fresh volume is initialised by the new major.
        deployArgs: scriptArgv().args.filter((a) => a !== '--dry-run'),
      });
  }

  // 4c. Drift: the live objects against the latest revision (only a deployed one: a failed one is replaced anyway).
  let drift: DriftResult | undefined;
  if (ctx.cfg.TODO_DEPLOY_DRIFT && observed.deployed && observed.history.at(-1)?.status === 'deployed') {
    drift = await ctx.out.progress('comparing the live objects with the release', () =>
      releaseDrift(ctx, observed.deployed!.manifest),
    );
    for (const d of drift.items)
      ctx.result.finding({
        name: 'drift',
        level: 'warn',
        detail: driftLine(d),
        object: { kind: d.object.split('/')[0]!, name: d.object.split('/')[1]!, namespace: ctx.namespace },
        required: false,
      });
    for (const u of drift.unchecked)
      ctx.result.finding({
        name: 'drift',
        level: 'info',
        detail: `${u.object}: not checked (${u.why})`,
        required: false,
      });
    ctx.result.data.drift = { items: drift.items, unchecked: drift.unchecked, checked: drift.checked, ms: drift.ms };
  }

  const plan = planDeploy(
    {
      namespaceExists: !!observed.namespace,
      liveSecret,
      history: observed.history,
      deployed: observed.deployed,
      drift: drift?.items,
    },
    {
      release: ctx.release,
      namespace: ctx.namespace,
      secretName,
      secretData: secretCfg,
      values,
      manifest,
      namespaceLabels: podSecurityLabels(ctx.cfg.TODO_DEPLOY_POD_SECURITY),
    },
  );
  ctx.result.data.diff = plan.diff;
  ctx.result.data.valuesChanged = plan.valuesChanged;
  // A Secret put back is a change even when no revision follows (bootstrap's summary reads this).
  ctx.result.data.unchanged = plan.unchanged && !repair;
  ctx.result.data.secret = {
    name: secretName,
    fingerprints: Object.fromEntries(Object.entries(secretCfg).map(([k, v]) => [k, fingerprint(v)])),
  };

  // doctor's checks before any change (and in a dry run, to show what would stop it).
  if (plan.actions.length && !repair) requireDoctor(ctx, await doctorFindings(ctx));
  if (!ctx.dryRun && !repair) for (const w of toWrite) writeEnvKey(w.file, w.key, w.value);

  // 5. Apply.
  const kube = await ctx.kube();
  const helm = await ctx.helm();
  let rollout: Error | undefined;
  await applyPlan<DeployParams>(ctx, plan.actions, async (a) => {
    const p = a.params!;
    if (p.kind === 'namespace') {
      await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ctx.namespace, labels: p.labels } });
      return 'Pod Security: enforce restricted';
    }
    if (p.kind === 'secret') {
      await applySecret(ctx, secretName, secretCfg);
      return p.changes.map((c) => `${c.key} ${c.to}`).join(', ');
    }
    const status = await helm.upgradeInstall({
      release: ctx.release,
      chart: chartPath(ctx),
      valuesFiles,
      values: deployValues,
      timeoutSec: ctx.timeoutSec,
    });
    const workloads = workloadsOf(manifest);
    // Only the workloads whose objects changed roll: those are watched after their rollout.
    const drifted = driftedObjects(drift?.items);
    const changed = new Set([...plan.diff.changed.map((c) => c.object), ...plan.diff.added, ...drifted]);
    const secretChanged = plan.actions.some((x) => x.params?.kind === 'secret');
    try {
      await waitWorkloads(ctx, workloads);
      await settle(
        ctx,
        workloads.filter((w) => p.install || secretChanged || changed.has(`${w.kind}/${w.name}`)),
        ctx.cfg.TODO_DEPLOY_SETTLE,
      );
    } catch (e) {
      rollout = e as Error;
      await crashLogs(ctx, e);
      throw e;
    }
    if (!drifted.length) return `revision ${status.version}, rolled out`;
    // The repair checked: helm's three-way merge puts back what it set, not what a hand added to a field it replaces.
    const left = await releaseDrift(ctx, manifest, { only: new Set(drifted) });
    for (const d of left.items)
      ctx.result.finding({
        name: 'drift',
        level: 'fail',
        detail: `still differs after the upgrade: ${driftLine(d)}`,
        hint: `kubectl -n ${ctx.namespace} edit ${d.object.toLowerCase()} (helm does not remove what it never set)`,
      });
    const fixed = drifted.filter((x) => !left.items.some((d) => d.object === x));
    return `revision ${status.version}, rolled out; drift repaired: ${fixed.join(', ') || 'none'}`;
  });

  // 6. A failed rollout: say why, and go back to the last healthy revision.
  if (rollout) {
    const prev = plan.previousRevision;
    ctx.result.finding({
      name: 'rollout',
      level: 'fail',
      detail: rollout.message,
      hint: (rollout as OpsError).hint,
      required: true,
    });
    if (opts['no-rollback'])
      ctx.result.finding({
        name: 'rollback',
        level: 'warn',
        detail: 'not rolled back (--no-rollback): the failed revision stays',
        hint: `helm -n ${ctx.namespace} rollback ${ctx.release}`,
        required: false,
      });
    else if (!prev)
      ctx.result.finding({
        name: 'rollback',
        level: 'warn',
        detail: 'no previous revision to roll back to (first install)',
        hint: `helm -n ${ctx.namespace} uninstall ${ctx.release}`,
        required: false,
      });
    else {
      const restore = !!liveSecret && plan.actions.some((x) => x.params?.kind === 'secret');
      await rollBack(
        ctx,
        prev,
        restore
          ? async () => (await applySecret(ctx, secretName, liveSecret!), ' (the Secret restored too)')
          : undefined,
      );
    }
  }

  // 7. The release history.
  if (!ctx.dryRun || observed.history.length) {
    const history = ctx.dryRun || plan.unchanged ? observed.history : await releaseHistory(ctx, 10);
    ctx.result.data.history = history.slice(-10);
  }
}
