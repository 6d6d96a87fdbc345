#!/usr/bin/env -S npx zx
// The first step of `npm test` (and so of .ci/run, which runs `npm test`): the
// machine's prerequisites of the tests (prereqs.ts, the list bootstrap's local
// target checks too), installed with apt-get as root on Debian or Ubuntu when
// CI=true or TODO_OPS_TEST_INSTALL=1, else a stop (exit 2, nothing changed)
// naming each missing command, its package and the command to run; then the
// frontend's node_modules (npm ci when missing or not what its lockfile says).
// What the tests build on demand (the bed's Go tools, kubectl-ai, the images)
// they still build themselves; .ci/run starts those early to overlap them.
// A warm run checks files and two versions only: well under a second.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OpsError } from '../kit/errors.ts';
import { repoRoot } from '../kit/env.ts';
import { missingLine } from './install-plan.ts';
import { prerequisites, prereqsFor, uses, type Use } from './prereqs.ts';
import { ensurePrereqs } from './system.ts';

const usage = `usage: npx zx scripts/lib/preflight/test-setup.ts [--dry-run] [--for tests|local] [--list]

Checks the machine's prerequisites of the tests (or of bootstrap --target local) and the
frontend's node_modules; installs what is missing when it may, else stops with the command.
  --dry-run   show what would be installed; change nothing
  --for USE   tests (default) or local
  --list      print the prerequisites (name, Debian package, minimum version, uses), tab-separated
Installs (apt-get, as root on Debian or Ubuntu) only with CI=true or TODO_OPS_TEST_INSTALL=1.
Exit codes: 0 ready, 2 something is missing (nothing changed), 4 an install failed.`;

const say = (line: string) => process.stderr.write(`test setup: ${line}\n`);

/** The frontend's node_modules hold every non-optional package of its lockfile at that version. */
function frontendCurrent(dir: string): { ok: boolean; why?: string } {
  const hidden = path.join(dir, 'node_modules', '.package-lock.json');
  if (!fs.existsSync(hidden)) return { ok: false, why: 'no node_modules' };
  type Lock = { packages?: Record<string, { version?: string; optional?: boolean }> };
  const want = (JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as Lock).packages ?? {};
  const have = (JSON.parse(fs.readFileSync(hidden, 'utf8')) as Lock).packages ?? {};
  const stale = Object.entries(want).filter(([k, v]) => k && !v.optional && have[k]?.version !== v.version);
  return stale.length
    ? { ok: false, why: `${stale.length} package(s) differ from package-lock.json (e.g. ${stale[0]![0]})` }
    : { ok: true };
}

function npmCi(prefix: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['ci', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const { values } = parseArgs({
    args: process.argv.slice(process.argv.findIndex((a) => a.endsWith('test-setup.ts')) + 1),
    options: {
      'dry-run': { type: 'boolean', default: false },
      for: { type: 'string', default: 'tests' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (!uses.includes(values.for as Use)) throw new OpsError(`--for must be one of ${uses.join(', ')}`, 2);
  const use = values.for as Use;
  if (values.list) {
    for (const p of prerequisites)
      process.stdout.write(`${[p.name, p.package, p.min ?? '-', p.for.join(','), p.why].join('\t')}\n`);
    return 0;
  }
  const dryRun = values['dry-run'];
  const outcome = await ensurePrereqs(prereqsFor(use), {
    dryRun,
    yes: false,
    agreed: process.env.CI === 'true' || process.env.TODO_OPS_TEST_INSTALL === '1',
    agreeHow: 'CI=true or TODO_OPS_TEST_INSTALL=1',
    tty: false,
    say,
  });
  for (const s of outcome.statuses) if (s.note) say(`${s.prereq.name} ${s.version}: ${s.note}`);
  const done = [
    outcome.status === 'installed'
      ? `installed ${outcome.plan.kind === 'install' ? outcome.plan.packages.join(' ') : ''}`
      : outcome.status === 'planned'
        ? `would install: ${missingLine(outcome.statuses.filter((s) => !s.ok).map((s) => s.prereq))}`
        : `${outcome.statuses.length} prerequisites present`,
  ];
  if (use === 'tests') {
    const frontend = path.join(repoRoot, 'frontend-docker');
    const fe = frontendCurrent(frontend);
    if (fe.ok) done.push('frontend node_modules current');
    else if (dryRun) done.push(`would run npm ci --prefix frontend-docker (${fe.why})`);
    else {
      say(`npm ci --prefix frontend-docker (${fe.why})`);
      const code = await npmCi(frontend);
      if (code !== 0) throw new OpsError(`npm ci --prefix frontend-docker failed (exit ${code})`, 4);
      done.push('frontend node_modules installed');
    }
  }
  say(`${done.join('; ')} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return 0;
}

try {
  process.exitCode = await main();
} catch (e) {
  if (!(e instanceof OpsError)) throw e;
  say(e.message);
  if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
  process.exitCode = e.code;
}
