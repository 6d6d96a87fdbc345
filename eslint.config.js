// Lint for the ops suite (scripts/, ops/, test/, bench/): typescript-eslint's
// recommended rules with no `any`, no import cycles, and a floor plan that only
// points down: entries -> rooms -> shared areas -> kit; product code never
// imports the tests. The app (frontend-docker/, backend-docker/) has its own.
import fs from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

const dirs = (d) =>
  fs
    .readdirSync(d, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `./${d}/${e.name}`);
const rooms = [...dirs('scripts').filter((d) => d !== './scripts/lib'), ...dirs('ops')];
const areas = dirs('scripts/lib');
// The kit's runner hands out the Kubernetes and helm clients (ctx.kube(), ctx.helm()): those two areas sit beside it.
const kitMayUse = ['./scripts/lib/kit', './scripts/lib/kube', './scripts/lib/release'];

export default tseslint.config(
  { ignores: ['node_modules/', 'frontend-docker/', 'backend-docker/', 'charts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.mjs', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mjs', '.js', '.json'] })],
    },
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // One copy of the client's classes, the fast one: values come through scripts/lib/kube/k8s.ts.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              allowTypeImports: true,
              message: 'import its classes from scripts/lib/kube/k8s.ts (the bundled client); types may come from here',
            },
            {
              name: 'node-fetch',
              allowTypeImports: true,
              message: "import fetch from scripts/lib/kube/k8s.ts: the bundled client's own copy",
            },
          ],
        },
      ],
      // The same for a dynamic import, which the rule above does not see.
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportExpression[source.value='node-fetch']",
          message: "import fetch from scripts/lib/kube/k8s.ts: the bundled client's own copy",
        },
      ],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: ['./scripts', './ops'], from: './test', message: 'product code never imports the tests' },
            { target: './scripts/lib', from: rooms, message: 'shared areas never import a command' },
            {
              target: './scripts/lib/kit',
              from: areas.filter((a) => !kitMayUse.includes(a)),
              message: 'the kit imports no feature',
            },
            ...rooms.map((r) => ({
              target: r,
              from: rooms.filter((o) => o !== r),
              message: 'a command does not import another command: share through scripts/lib',
            })),
          ],
        },
      ],
    },
  },
  {
    // The one place that loads the client (bundled or not).
    files: ['scripts/lib/kube/k8s.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
  },
  {
    // The tests read the scripts' JSON envelopes and API objects loosely: `any` there
    // stands for "a parsed document"; the product code has none.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The stand-in CLIs are plain CommonJS run by node.
    files: ['test/fixtures/bin-standins/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
