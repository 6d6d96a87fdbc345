// kagent settings (TODO_KAGENT_*), shared: bootstrap reads TODO_KAGENT_ENABLED,
// ops/agents.ts renders and applies the agents, self-heal and alert hand their
// findings to an agent with --agent. Shared by every script through scripts/lib/main.ts.
import type { Config } from '../../kit/env.ts';
import { bool, defineSettings, durationSeconds, setting, str } from '../../kit/settings.ts';

export const agentsSettings = defineSettings({
  TODO_KAGENT_ENABLED: setting(bool, false, 'install the kagent agents (ops/agents.ts apply) as part of bootstrap'),
  TODO_KAGENT_BIN: setting(str, 'kagent', 'the kagent CLI (name on PATH or absolute path)'),
  TODO_KAGENT_NAMESPACE: setting(str, 'kagent', 'where kagent itself runs (its controller, kagent invoke -n)'),
  TODO_KAGENT_HEAL_AGENT: setting(str, 'todo-self-healer', 'the Agent self-heal --agent hands its findings to'),
  TODO_KAGENT_ALERT_AGENT: setting(str, 'todo-monitor', 'the Agent alert --agent hands firing alerts to'),
  TODO_KAGENT_TIMEOUT: setting(durationSeconds, 300, 'timeout of one kagent invoke'),
});

/**
 * The kagent settings of a run's config. The suite loads them for every script
 * (scripts/lib/main.ts), but a context's type knows only the kit's settings
 * and the script's own: this is the one place that says these are there.
 */
export const agentsConfig = (cfg: Config): Config<typeof agentsSettings> => cfg as Config<typeof agentsSettings>;
