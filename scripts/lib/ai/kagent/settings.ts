// kagent settings (TODO_KAGENT_*), shared: bootstrap reads TODO_KAGENT_ENABLED,
// ops/agents.ts renders and applies the agents, self-heal and alert hand their
// findings to an agent with --agent. Registered in config.ts's libSettings.
import { bool, defineSettings, durationSeconds, setting, str } from '../../kit/settings.ts';

export const agentsSettings = defineSettings({
  TODO_KAGENT_ENABLED: setting(bool, false, 'install the kagent agents (ops/agents.ts apply) as part of bootstrap'),
  TODO_KAGENT_BIN: setting(str, 'kagent', 'the kagent CLI (name on PATH or absolute path)'),
  TODO_KAGENT_NAMESPACE: setting(str, 'kagent', 'where kagent itself runs (its controller, kagent invoke -n)'),
  TODO_KAGENT_HEAL_AGENT: setting(str, 'todo-self-healer', 'the Agent self-heal --agent hands its findings to'),
  TODO_KAGENT_ALERT_AGENT: setting(str, 'todo-monitor', 'the Agent alert --agent hands firing alerts to'),
  TODO_KAGENT_TIMEOUT: setting(durationSeconds, 300, 'timeout of one kagent invoke'),
});
