// Is the kubectl-ai layer usable? Binary, version and provider configuration,
// found without calling any model: doctor's "kubectl-ai" finding, and the check
// before an --ai run. Light on purpose: doctor imports it.
import { which } from 'zx';
import { providerEnv, type AiProvider } from './settings.ts';
import type { Finding } from '../../kit/result.ts';
import { shell } from '../../kit/shell.ts';
import { toolSpecs } from '../../kit/tools.ts';

export interface AiConfig {
  TODO_AI: string;
  TODO_AI_PROVIDER: AiProvider;
  TODO_AI_MODEL: string;
  TODO_AI_MAX_ITERATIONS: number;
  [key: string]: unknown;
}

/** The provider's variables that are set: from the config (env files win) or the process environment. */
export function providerValues(cfg: AiConfig, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of providerEnv[cfg.TODO_AI_PROVIDER].keys) {
    const own = cfg[k];
    const v = typeof own === 'string' && own ? own : env[k];
    if (v) out[k] = v;
  }
  return out;
}

/** Which provider variables are missing; empty when the provider is configured. */
export function missingProviderKeys(cfg: AiConfig, env: NodeJS.ProcessEnv): string[] {
  const have = providerValues(cfg, env);
  return providerEnv[cfg.TODO_AI_PROVIDER].needs
    .filter((anyOf) => !anyOf.some((k) => have[k]))
    .map((anyOf) => anyOf.join(' or '));
}

export interface AiStatus {
  path?: string;
  version?: string;
  provider: string;
  missing: string[];
  problem?: string;
}

/** Binary, version and provider configuration, without calling any model (doctor, and before a run). */
export async function aiStatus(cfg: AiConfig): Promise<AiStatus> {
  const base = { provider: cfg.TODO_AI_PROVIDER, missing: missingProviderKeys(cfg, process.env) };
  const bin = String(cfg.TODO_AI_BIN || 'kubectl-ai');
  const found = (await which(bin, { nothrow: true })) ?? undefined;
  if (!found) return { ...base, problem: `${bin} not found${bin.includes('/') ? '' : ' on PATH'}` };
  const res = await shell({ timeout: '15s' })`${found} version`;
  const version =
    toolSpecs['kubectl-ai'].pattern.exec(res.stdout + res.stderr)?.[1] ?? /version:\s*(\S+)/.exec(res.stdout)?.[1];
  if (res.exitCode !== 0) return { ...base, path: found, problem: `${found} version failed (exit ${res.exitCode})` };
  return { ...base, path: found, version: version ?? 'unknown' };
}

/** The doctor finding named "kubectl-ai": never required, never calls a model. */
export function assessAi(s: AiStatus, mode: string): Finding {
  const where = s.path ? `${s.path}, version ${s.version ?? '?'}` : '';
  const evidence = {
    path: s.path ?? null,
    version: s.version ?? null,
    provider: s.provider,
    configured: !s.problem && !s.missing.length,
    mode,
  };
  if (mode === 'off' || mode === 'kagent')
    return {
      name: 'kubectl-ai',
      level: 'info',
      detail: `not used (TODO_AI=${mode})${where ? `; ${where}` : ''}`,
      required: false,
      evidence,
    };
  if (s.problem)
    return {
      name: 'kubectl-ai',
      level: 'info',
      detail: `${s.problem} (optional: --ai is unavailable, everything else works)`,
      hint: `install: ${toolSpecs['kubectl-ai'].install}, or set TODO_AI_BIN`,
      required: false,
      evidence,
    };
  // Asked for by name (TODO_AI=kubectl-ai), a missing key is a problem; on the default (auto) it is a fact:
  // the optional layer is off until configured, and deploy and scale, which run doctor first, do not warn of it each time.
  if (s.missing.length)
    return {
      name: 'kubectl-ai',
      level: mode === 'kubectl-ai' ? 'warn' : 'info',
      detail: `${where}; provider ${s.provider} is not configured (${s.missing.join(', ')} unset): --ai is unavailable`,
      hint: `set ${s.missing[0]} in env/.env.local, or TODO_AI_PROVIDER`,
      required: false,
      evidence,
    };
  return {
    name: 'kubectl-ai',
    level: 'ok',
    detail: `${where}; provider ${s.provider} configured`,
    required: false,
    evidence,
  };
}
