#!/usr/bin/env -S npx zx
// Benchmark (not a test): the size of each built image against its budget
// (seed F5/B: 200 MB uncompressed required, 150 MB the aim).
// `npx zx bench/image-size.ts [--json]`; needs root, buildah and debootstrap
// (test/images/setup.sh). Builds with the images test harness, so a run after
// `npx vitest run --project images` reuses every layer and takes seconds.
//
// Both runtime stages are FROM scratch, so no base image layer is shipped: the
// first layer is the root filesystem cut from the base (frontend: node and the
// libraries it links; backend: CPython, its libraries and the venv with the
// dependencies), the others are the app's own. The stand-in base's full size
// is printed beside them for scale. The stand-ins are shaped like the official
// images but are not them (no registry here), so totals are estimates.
import { argv } from 'zx';
import {
  buildApp,
  compressedSize,
  ensureStandins,
  inspectImage,
  layerSizes,
  type AppName,
} from '../scripts/lib/local-cluster/image-builds.ts';

const MB = 1024 * 1024;
const budget = { required: 200, aim: 150 };
const mb = (b: number) => +(b / MB).toFixed(1);

const standins = await ensureStandins();
const rows = [];
for (const name of ['frontend', 'backend'] as AppName[]) {
  const built = await buildApp(name, standins);
  const info = (await inspectImage(built.ref))!;
  const layers = layerSizes(info);
  const total = layers.reduce((s, l) => s + l.bytes, 0);
  const base = (await inspectImage(name === 'frontend' ? standins.node : standins.python))!;
  rows.push({
    image: name,
    rootLayerMB: mb(layers[0]!.bytes),
    appLayersMB: layers.slice(1).map((l) => mb(l.bytes)),
    totalMB: mb(total),
    compressedMB: mb(await compressedSize(built.ref)),
    standinBaseMB: mb(layerSizes(base).reduce((s, l) => s + l.bytes, 0)),
    budgetMB: budget.required,
    withinBudget: total / MB < budget.required,
    withinAim: total / MB < budget.aim,
  });
}

if (argv.json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log('image      root layer  app layers               total    gzip     stand-in base   budget (aim)');
  for (const r of rows)
    console.log(
      `${r.image.padEnd(10)} ${`${r.rootLayerMB} MB`.padStart(9)}   ${r.appLayersMB
        .map((x) => `${x}`)
        .join(' + ')
        .padEnd(
          20,
        )} MB ${`${r.totalMB} MB`.padStart(8)} ${`${r.compressedMB} MB`.padStart(8)}   ${`${r.standinBaseMB} MB`.padStart(13)}   ${r.withinBudget ? 'ok' : 'OVER'} ${budget.required} (${r.withinAim ? 'ok' : 'over'} ${budget.aim})`,
    );
}
if (rows.some((r) => !r.withinBudget)) process.exitCode = 1;
