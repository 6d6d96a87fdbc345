#!/usr/bin/env -S npx zx
// Benchmark (not a test): how many requests per second ops/perf.ts's load
// generator (autocannon plus perf's per-answer latency recording) can drive on
// this machine against a trivial endpoint served by another process on
// 127.0.0.1, next to bare autocannon. Above this rate the tool, not the app,
// is the limit. `npm run bench:perf` (--seconds 5 --connections 10,50).
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { argv } from 'zx';
import { load } from '../ops/perf/run.ts';

const seconds = Number(argv.seconds ?? 5);
const connectionsList = String(argv.connections ?? '10,50')
  .split(',')
  .map(Number);

// The server in its own process, so it does not share the generator's event loop.
const server = spawn(
  process.execPath,
  [
    '-e',
    "require('http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',function(){process.send(this.address().port)})",
  ],
  { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
);
const port = await new Promise<number>((resolve) => server.once('message', (p) => resolve(Number(p))));

const rows: string[] = [];
for (const connections of connectionsList) {
  const bare = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: seconds });
  const ours = await load(
    { name: 'health', method: 'GET', path: '/', auth: false },
    { port, connections, durationSec: seconds, requests: 10_000_000 },
  );
  rows.push(
    `| ${connections} | ${Math.round(bare.requests.average)} | ${Math.round(ours.rps)} | ${ours.p50} / ${ours.p99} ms | ${ours.errors + ours.non2xx} |`,
  );
}
server.kill();
console.log(
  `perf's load generator vs bare autocannon, trivial endpoint on 127.0.0.1, ${seconds} s each (Node ${process.version})\n`,
);
console.log(
  '| connections | bare autocannon req/s | ops/perf req/s | p50 / p99 | errors |\n| --- | --- | --- | --- | --- |',
);
console.log(rows.join('\n'));
