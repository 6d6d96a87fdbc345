// The build context each image gets: the app folder filtered by its
// .dockerignore, computed with @balena/dockerignore (a port of Docker's own
// matcher). Nothing from tests, caches, node_modules, virtualenvs, .env files
// or .git may enter it; what the build needs must.
import fs from 'node:fs';
import path from 'node:path';
import dockerignore from '@balena/dockerignore';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/run.ts';

// The package is CommonJS (module.exports = factory) while its types declare a
// default export: under NodeNext the import is the factory itself.
const ignore = dockerignore as unknown as typeof dockerignore.default;

function matcher(dir: string) {
  const lines = fs.readFileSync(path.join(dir, '.dockerignore'), 'utf8').split('\n');
  const ig = ignore().add(lines);
  const negations = lines.map((l) => l.trim()).filter((l) => l.startsWith('!'));
  return { ignores: (p: string) => ig.ignores(p), negations };
}

/** The files `docker build` would send: a walk of dir, skipping what .dockerignore drops. */
function contextListing(dir: string): string[] {
  const { ignores, negations } = matcher(dir);
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        // Like Docker: a dropped directory is skipped whole unless an exception could match inside it.
        if (ignores(p) && !negations.some((n) => n.slice(1).startsWith(`${p}/`) || n.includes('**'))) continue;
        walk(p);
      } else if (!ignores(p)) out.push(p);
    }
  };
  walk('');
  return out.sort();
}

const forbidden: [string, RegExp][] = [
  ['tests', /(^|\/)(tests?|__tests__|e2e)\//],
  [
    'test files',
    /(\.(test|spec)\.[cm]?[jt]sx?$)|((^|\/)test_[^/]*\.py$)|((^|\/)[^/]*_test\.py$)|((^|\/)conftest\.py$)|(^requirements-dev\.txt$)|(^vitest(\.[^/]*)?\.config\.[cm]?[jt]s$)/,
  ],
  [
    'caches',
    /(^|\/)(\.cache|\.npm|__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.next|coverage|\.turbo)\/|\.py[cod]$|\.tsbuildinfo$/,
  ],
  ['node_modules', /(^|\/)node_modules\//],
  ['virtualenvs', /(^|\/)\.?venv\//],
  ['.env files', /(^|\/)\.env(\.[^/]*)?$/],
  ['.git', /(^|\/)\.git\//],
  ['local data', /\.db(-wal|-shm)?$/],
];

/** Paths that must be dropped whether or not they exist today. */
const probes = [
  '.git/HEAD',
  '.git/objects/ab/cdef',
  '.env',
  '.env.local',
  '.env.production',
  'src/.env',
  'nested/dir/.env.test',
  'node_modules/next/package.json',
  'src/node_modules/x/index.js',
  'tests/unit/a.test.ts',
  'tests/e2e/app.e2e.test.ts',
  'src/lib/auth.test.ts',
  'src/components/__tests__/x.tsx',
  'coverage/lcov.info',
  '.next/cache/webpack/x',
  '.npm/_cacache/x',
  '.venv/bin/python',
  'venv/lib/site.py',
  'app/__pycache__/main.cpython-311.pyc',
  'app/main.pyc',
  '.pytest_cache/v/cache',
  '.mypy_cache/3.11/x.json',
  '.ruff_cache/x',
  'tests/conftest.py',
  'app/tests/test_x.py',
  'app/test_y.py',
  'data/todo.db',
  'todo.db-wal',
];

describe.each([
  [
    'frontend',
    [
      'package.json',
      'package-lock.json',
      '.npmrc',
      'next.config.ts',
      'tsconfig.json',
      'Dockerfile',
      'src/app/layout.tsx',
      'src/app/api/health/route.ts',
      'scripts/copy-standalone-assets.mjs',
      'public/robots.txt',
    ],
  ],
  [
    'backend',
    [
      'requirements.txt',
      'pyproject.toml',
      'Dockerfile',
      'app/__init__.py',
      'app/__main__.py',
      'app/main.py',
      'app/settings.py',
    ],
  ],
] as const)('%s build context', (name, required) => {
  const dir = path.join(repoRoot, `${name}-docker`);
  const listing = contextListing(dir);

  it('holds what the build needs', () => {
    // Every required file must exist and be sent: a missing one is a failure, not something to skip.
    for (const f of required) expect(listing, `${name}: ${f}`).toContain(f);
    expect(listing).toContain('Dockerfile');
  });

  it.each(forbidden)('holds no %s', (_what, re) => {
    expect(listing.filter((f) => re.test(f))).toEqual([]);
  });

  it('drops every kind of file that must never be sent, present or not', () => {
    const { ignores } = matcher(dir);
    expect(probes.filter((p) => !ignores(p))).toEqual([]);
  });

  it('stays small (no build output or dependencies by accident)', () => {
    const bytes = listing.reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
    expect(listing.length).toBeLessThan(500);
    expect(bytes).toBeLessThan(5 * 1024 * 1024);
  });
});
