#!/usr/bin/env -S npx zx
// npm run cluster:down — stops the kwok test bed and removes its state.
import { down, bedName } from '../../scripts/lib/local-cluster/cluster.ts';

await down();
process.stderr.write(`test bed ${bedName} deleted\n`);
