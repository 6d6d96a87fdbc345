// The suite's main: the kit's runner wired with what every script shares
// beyond the kit, namely the AI layers' settings and kubectl-ai behind --ai.
// Every entry file calls this one, so the kit itself knows no feature.
import { runScript, scriptArgv, type OptionSpec, type ScriptSpec } from './kit/cli.ts';
import { kitSettings } from './kit/env.ts';
import type { Settings } from './kit/settings.ts';
import { agentsSettings } from './ai/kagent/settings.ts';
import { kubectlAiHook } from './ai/kubectl-ai/hook.ts';
import { aiSettings } from './ai/kubectl-ai/settings.ts';

const sharedSettings: Settings = { ...agentsSettings, ...aiSettings };

/** Every setting a script may read besides its own: what `config` checks keys against. */
export const suiteSettings: Settings = { ...kitSettings, ...sharedSettings };

export function main<O extends Record<string, OptionSpec>, S extends Settings = Settings>(
  spec: ScriptSpec<O, S>,
  argv = scriptArgv().args,
): Promise<never> {
  return runScript(spec, { settings: sharedSettings, ai: kubectlAiHook }, argv);
}
