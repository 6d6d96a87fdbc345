// The profile's chart and values as helm gets them: the chart path, the values
// files (TODO_VALUES, then the local overlay `config set` writes), and the chart
// rendered with exactly those inputs for comparison with what is deployed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { Context } from '../kit/cli.ts';
import { envDir, repoRoot } from '../kit/env.ts';
import { Exit, OpsError, usageError } from '../kit/errors.ts';
import { classifyHelmFailure, runHelm } from './helm.ts';
import type { Values } from './values.ts';

/** The chart path of the profile. */
export const chartPath = (ctx: Context) => path.resolve(repoRoot, ctx.cfg.TODO_CHART);

/** The local values overlay `config set` writes chart values to (ignored by git). */
export const overlayFile = (profile: string) => path.join(envDir(), `${profile}.values.local.yaml`);

/** The profile's values file (TODO_VALUES), then the local overlay when there is one. */
export function profileValuesFiles(ctx: Context): string[] {
  const out: string[] = [];
  const v = ctx.cfg.TODO_VALUES;
  if (v) {
    const f = path.resolve(repoRoot, v);
    if (!fs.existsSync(f)) throw usageError(`TODO_VALUES: ${v} does not exist`);
    out.push(f);
  }
  const overlay = overlayFile(ctx.cfg.profile);
  if (fs.existsSync(overlay)) out.push(overlay);
  return out;
}

/** A values file as data; a YAML syntax error is a usage error naming the file. */
export function readValuesFile(file: string): Values {
  if (!fs.existsSync(file)) throw usageError(`values file ${file} does not exist`);
  try {
    return (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as Values;
  } catch (e) {
    throw usageError(`values file ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * `helm template` with the same values an upgrade would get, with
 * `--dry-run=server` so the chart's lookups (existing Secrets, their checksums)
 * are answered by the cluster: the result is comparable with `helm get manifest`.
 * A values schema error is a usage error (exit 2); an unreachable cluster exit 3.
 */
export async function renderRelease(ctx: Context, o: { valuesFiles: string[]; values?: Values }): Promise<string> {
  const helm = await ctx.helm();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'todo-ops-render-'));
  try {
    const files = [...o.valuesFiles];
    if (o.values) {
      const f = path.join(dir, 'values.yaml');
      fs.writeFileSync(f, YAML.stringify(o.values), { mode: 0o600 });
      files.push(f);
    }
    const args = [
      'template',
      ctx.release,
      chartPath(ctx),
      ...files.flatMap((f) => ['--values', f]),
      '--dry-run=server',
      ...helm.scope,
    ];
    try {
      return (
        await runHelm(helm.opts.bin ?? 'helm', args, {
          env: helm.opts.env,
          log: helm.opts.log,
          what: 'helm template',
          timeout: '120s',
          classify: (res) =>
            /don't meet the specifications of the schema|values\.schema\.json|execution error at|parse error|error converting YAML/i.test(
              res.stderr,
            )
              ? Exit.usage
              : classifyHelmFailure(res),
        })
      ).stdout;
    } catch (e) {
      if (e instanceof OpsError && e.code === Exit.usage)
        throw usageError(
          `the chart refuses these values: ${e.message.replace(/^helm template failed \(exit \d+\): /, '')}`,
          'check the values files against charts/todo-chatbot/values.schema.json',
        );
      throw e;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
