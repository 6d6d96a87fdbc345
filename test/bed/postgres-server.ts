// A throwaway PostgreSQL on 127.0.0.1 for the backend's pytest (backend-docker/tests/run.sh):
// the chart's postgres stand-in image (the same server binaries the test bed's node runs),
// started with buildah run on host networking. Prints one line,
//   TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:PORT/todo_test PostgreSQL 17.12 (IMAGE)
// once the server accepts connections, then runs until SIGTERM/SIGINT, when it stops the
// server and removes its working container (the data lived only there).
// Needs root and buildah (test/images/setup.sh), like the stand-in build itself.
//   node --import ./scripts/lib/ts-loader/register.mjs test/bed/postgres-server.ts
import fs from 'node:fs';
import net from 'node:net';
import {
  descendants,
  ensurePostgresStandin,
  postgresVersionIn,
  startImage,
} from '../../scripts/lib/local-cluster/image-builds.ts';
import { freePort } from '../../scripts/lib/local-cluster/net.ts';

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

const pg = await ensurePostgresStandin();
// The binaries' own word, not the recipe's: what pytest really runs against.
const version = await postgresVersionIn(pg.ref);
const port = await freePort();
const running = await startImage(
  pg.ref,
  { POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'todo_test', PGPORT: String(port) },
  // Loopback only (host networking); no durability needed for a test database.
  [
    'postgres',
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ],
);

/** The postmaster: the oldest postgres process under buildah (its children are postgres too). */
const postmaster = () =>
  descendants(running.child.pid!).find((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'postgres';
    } catch {
      return false;
    }
  });

let stopping: Promise<void> | undefined;
const stop = () =>
  (stopping ??= (async () => {
    const pid = postmaster();
    // SIGINT: the image's STOPSIGNAL, PostgreSQL's fast shutdown (SIGTERM would wait for clients).
    if (pid) process.kill(pid, 'SIGINT');
    await running.stop(20_000);
  })());
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void stop().then(() => process.exit(0)));

// Ready once the entrypoint's init (a socket-only server) is over and the real server listens.
const deadline = Date.now() + 120_000;
let exited = false;
void running.exited.then(() => (exited = true));
for (;;) {
  const out = running.output();
  const init = out.lastIndexOf('PostgreSQL init process complete');
  if (init >= 0 && out.indexOf('ready to accept connections', init) >= 0 && (await accepts(port))) break;
  if (exited || Date.now() > deadline) {
    process.stderr.write(`PostgreSQL did not start (${exited ? 'exited' : 'timed out'}):\n${out.slice(-3000)}\n`);
    await stop();
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 200));
}
process.stdout.write(
  `TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:${port}/todo_test PostgreSQL ${version} (${pg.ref})\n`,
);
// Keep running (the signal handlers end it); a server that dies early is said on stderr.
await running.exited;
if (!stopping) {
  process.stderr.write(`PostgreSQL exited while the tests ran:\n${running.output().slice(-3000)}\n`);
  process.exit(1);
}
