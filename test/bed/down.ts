#!/usr/bin/env -S npx zx
// npm run cluster:down — stops the kwok test bed and removes its state.
// --kagent: removes only kagent (controller, tools, its namespace and CRDs) from the running bed.
import { down, bedName } from '../../scripts/lib/local-cluster/cluster.ts';
import { kagentDown } from '../../scripts/lib/local-cluster/kagent.ts';

if (process.argv.includes('--kagent')) {
  await kagentDown();
  process.stderr.write(`kagent removed from test bed ${bedName}\n`);
} else {
  await down();
  process.stderr.write(`test bed ${bedName} deleted\n`);
}
