// Settings of the optional kubectl-ai layer (the K scripts' --ai). Kept apart
// from the code that runs kubectl-ai so scripts/lib/main.ts can assemble them cheaply.
import type { Config } from '../../kit/env.ts';
import { defineSettings, durationSeconds, int, oneOf, setting, str, url } from '../../kit/settings.ts';

/** kubectl-ai 0.0.28's providers (gollm's registry). */
const aiProviders = ['gemini', 'vertexai', 'openai', 'azopenai', 'grok', 'bedrock', 'ollama', 'llamacpp'] as const;
export type AiProvider = (typeof aiProviders)[number];

export const aiSettings = defineSettings({
  TODO_AI_BIN: setting(str, 'kubectl-ai', 'the kubectl-ai binary: a name on PATH or a path'),
  TODO_AI_PROVIDER: setting(oneOf(...aiProviders), 'gemini', 'kubectl-ai --llm-provider'),
  TODO_AI_MODEL: setting(str, '', "kubectl-ai --model (empty: the provider's default in kubectl-ai)"),
  TODO_AI_MAX_ITERATIONS: setting(int(1, 100), 10, 'kubectl-ai --max-iterations: model turns per --ai request'),
  TODO_AI_TIMEOUT: setting(durationSeconds, 300, 'how long an --ai request may take before it is stopped'),
  GEMINI_API_KEY: setting(str, '', "kubectl-ai's key for TODO_AI_PROVIDER=gemini", true),
  OPENAI_ENDPOINT: setting(
    url,
    '',
    'kubectl-ai with TODO_AI_PROVIDER=openai: an OpenAI-compatible server, e.g. http://host:8000/v1 (key: OPENAI_API_KEY)',
  ),
});

/**
 * What each provider reads from its environment (besides the declared settings
 * above, which are passed when set), and which of those are secrets. Nothing
 * else of ours reaches kubectl-ai's environment: the app's secrets stay out.
 */
export const providerEnv: Record<AiProvider, { keys: string[]; secrets: string[]; needs: string[][] }> = {
  gemini: { keys: ['GEMINI_API_KEY'], secrets: ['GEMINI_API_KEY'], needs: [['GEMINI_API_KEY']] },
  vertexai: {
    keys: ['GOOGLE_APPLICATION_CREDENTIALS', 'GOOGLE_CLOUD_PROJECT', 'GOOGLE_CLOUD_LOCATION', 'GOOGLE_CLOUD_REGION'],
    secrets: [],
    needs: [['GOOGLE_CLOUD_PROJECT']],
  },
  openai: {
    keys: ['OPENAI_API_KEY', 'OPENAI_ENDPOINT', 'OPENAI_API_BASE'],
    secrets: ['OPENAI_API_KEY'],
    needs: [['OPENAI_API_KEY']],
  },
  azopenai: {
    keys: ['AZURE_OPENAI_API_KEY', 'AZURE_OPENAI_ENDPOINT'],
    secrets: ['AZURE_OPENAI_API_KEY'],
    needs: [['AZURE_OPENAI_ENDPOINT']],
  },
  grok: { keys: ['GROK_API_KEY', 'GROK_ENDPOINT'], secrets: ['GROK_API_KEY'], needs: [['GROK_API_KEY']] },
  bedrock: {
    keys: [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_REGION',
      'AWS_PROFILE',
      'BEDROCK_MODEL',
    ],
    secrets: ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'],
    needs: [['AWS_ACCESS_KEY_ID', 'AWS_PROFILE']],
  },
  ollama: { keys: ['OLLAMA_HOST'], secrets: [], needs: [] },
  llamacpp: { keys: ['LLAMACPP_HOST'], secrets: [], needs: [] },
};

/**
 * The kubectl-ai settings of a run's config. The suite loads them for every
 * script (scripts/lib/main.ts), but a context's type knows only the kit's
 * settings and the script's own: this is the one place that says these are there.
 */
export const aiConfig = (cfg: Config): Config<typeof aiSettings> => cfg as Config<typeof aiSettings>;
