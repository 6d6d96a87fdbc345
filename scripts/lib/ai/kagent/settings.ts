// kagent settings (TODO_KAGENT_*), shared: bootstrap reads TODO_KAGENT_ENABLED,
// ops/agents.ts renders and applies the agents, self-heal and alert hand their
// findings to an agent with --agent. Shared by every script through scripts/lib/main.ts.
import type { Context } from '../../kit/cli.ts';
import type { Config } from '../../kit/env.ts';
import { bool, defineSettings, durationSeconds, setting, str, url } from '../../kit/settings.ts';

export const agentsSettings = defineSettings({
  TODO_KAGENT_ENABLED: setting(bool, false, 'install the kagent agents (ops/agents.ts apply) as part of bootstrap'),
  TODO_KAGENT_BIN: setting(
    str,
    'kagent',
    "the kagent CLI (a name: on PATH, else the suite's tool cache, where the local cluster builds it; or a path)",
  ),
  // One setting for both ends: where ops/agents.ts applies the Agents is where kagent invoke -n must look.
  TODO_KAGENT_NAMESPACE: setting(
    str,
    '',
    'namespace of the Agents (ops/agents.ts applies them there, kagent invoke -n looks there); empty: the release namespace',
  ),
  TODO_KAGENT_URL: setting(
    url,
    '',
    "kagent's controller API (kagent invoke --kagent-url, doctor's check); empty: kagent's default, http://localhost:8083",
  ),
  // The chart's ModelConfig, without a values file: how bootstrap --with-kagent gives the Agents the user's model.
  TODO_KAGENT_MODEL: setting(str, '', "the Agents' model (the chart's kagent.modelConfig.model); empty: the chart's"),
  TODO_KAGENT_MODEL_URL: setting(
    url,
    '',
    "an OpenAI-compatible endpoint for the Agents' model (kagent.modelConfig.openAI.baseUrl); empty: the chart's (api.openai.com)",
  ),
  TODO_KAGENT_HEAL_AGENT: setting(str, 'todo-self-healer', 'the Agent self-heal --agent hands its findings to'),
  TODO_KAGENT_ALERT_AGENT: setting(str, 'todo-monitor', 'the Agent alert --agent hands firing alerts to'),
  TODO_KAGENT_TIMEOUT: setting(durationSeconds, 300, 'timeout of one kagent invoke'),
  TODO_KAGENT_READY_TIMEOUT: setting(
    durationSeconds,
    180,
    'how long ops/agents.ts apply waits for each Agent to be Accepted, Ready and running on a real node',
  ),
});

/**
 * The kagent settings of a run's config. The suite loads them for every script
 * (scripts/lib/main.ts), but a context's type knows only the kit's settings
 * and the script's own: this is the one place that says these are there.
 */
export const agentsConfig = (cfg: Config): Config<typeof agentsSettings> => cfg as Config<typeof agentsSettings>;

/** Where the Agents live: TODO_KAGENT_NAMESPACE, else the release namespace. */
export const agentsNamespace = (ctx: Context): string => agentsConfig(ctx.cfg).TODO_KAGENT_NAMESPACE || ctx.namespace;
