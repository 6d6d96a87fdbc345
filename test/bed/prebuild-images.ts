#!/usr/bin/env -S npx zx
// Builds (cold) or finds (warm) the real node's PostgreSQL stand-in image, so
// that .ci/run can overlap it with the Go builds; the bed would build it at its
// first `cluster:up` otherwise. The app images are the images project's.
import { ensurePostgresStandin } from '../../scripts/lib/local-cluster/image-builds.ts';

const pg = await ensurePostgresStandin();
process.stderr.write(
  `postgres stand-in ${pg.ref}: ${pg.seconds > 0 ? `built in ${pg.seconds.toFixed(0)}s` : 'cached'}\n`,
);
