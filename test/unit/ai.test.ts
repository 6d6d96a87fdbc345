// The kubectl-ai layer's pure parts: the command line and environment it gets,
// how a finished run is judged from its exit code, output and trace, doctor's
// finding, and the --ai flag the K scripts offer.
import { describe, expect, it } from 'vitest';
import {
  judgeAiRun,
  kubectlAiArgs,
  kubectlAiEnv,
  outOfScope,
  scopedRequest,
  tracedCommands,
} from '../../scripts/lib/ai/kubectl-ai/invoke.ts';
import { assessAi, missingProviderKeys, type AiConfig } from '../../scripts/lib/ai/kubectl-ai/status.ts';
import { resultText } from '../../scripts/lib/ai/kubectl-ai/step.ts';
import { helpText, parseFlags, type ScriptSpec } from '../../scripts/lib/kit/cli.ts';
import { Result } from '../../scripts/lib/kit/result.ts';
import { assertFailure, run, scratchEnv } from '../helpers/run.ts';

const cfg = (o: Partial<AiConfig> = {}): AiConfig => ({
  TODO_AI: 'auto',
  TODO_AI_PROVIDER: 'openai',
  TODO_AI_MODEL: '',
  TODO_AI_MAX_ITERATIONS: 7,
  OPENAI_API_KEY: '',
  OPENAI_ENDPOINT: '',
  GEMINI_API_KEY: '',
  ...o,
});

const trace = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n\n---\n\n');
const req = (id: string, command: string, name = 'kubectl') => ({
  action: 'tool-request',
  payload: { id, name, arguments: { command, modifies_resource: 'no' } },
});
const resp = (id: string, r: object) => ({ action: 'tool-response', payload: { id, response: r } });

describe('kubectl-ai command line and environment', () => {
  it('uses its real flags; --skip-permissions follows --yes, explicitly either way; the request is the one positional', () => {
    const o = { request: 'scale it', kubeconfig: '/s/kc', tracePath: '/s/t.yaml', yes: false };
    expect(kubectlAiArgs(cfg(), o)).toEqual([
      '--quiet',
      '--llm-provider',
      'openai',
      '--kubeconfig',
      '/s/kc',
      '--max-iterations',
      '7',
      '--trace-path',
      '/s/t.yaml',
      '--remove-workdir',
      '--skip-permissions=false',
      'scale it',
    ]);
    expect(kubectlAiArgs(cfg({ TODO_AI_MODEL: 'gpt-x' }), { ...o, yes: true })).toEqual(
      expect.arrayContaining(['--model', 'gpt-x', '--skip-permissions=true']),
    );
  });

  it("the environment holds the provider's variables and nothing of the app's: the key travels there, never in argv", () => {
    const env = {
      PATH: '/bin',
      HOME: '/h',
      OPENAI_API_KEY: 'sk-from-env',
      BETTER_AUTH_SECRET: 'app',
      DATABASE_URL: 'postgres://u:p@h/db',
      GEMINI_API_KEY: 'g',
      KUBECONFIG: '/home/kc',
      TODO_NAMESPACE: 'x',
    };
    const out = kubectlAiEnv(cfg({ OPENAI_API_KEY: 'sk-from-file', OPENAI_ENDPOINT: 'http://127.0.0.1:1/v1' }), env, {
      kubeconfig: '/s/kc',
      tmpdir: '/s/tmp',
    });
    expect(out).toEqual({
      PATH: '/bin',
      HOME: '/h',
      OPENAI_API_KEY: 'sk-from-file',
      OPENAI_ENDPOINT: 'http://127.0.0.1:1/v1',
      KUBECONFIG: '/s/kc',
      TMPDIR: '/s/tmp',
    });
    expect(
      kubectlAiArgs(cfg({ OPENAI_API_KEY: 'sk-from-file' }), {
        request: 'r',
        kubeconfig: 'k',
        tracePath: 't',
        yes: true,
      }).join(' '),
    ).not.toContain('sk-from-file');
  });

  it('says which provider variables are missing', () => {
    expect(missingProviderKeys(cfg(), {})).toEqual(['OPENAI_API_KEY']);
    expect(missingProviderKeys(cfg(), { OPENAI_API_KEY: 'k' })).toEqual([]);
    expect(missingProviderKeys(cfg({ TODO_AI_PROVIDER: 'gemini' }), {})).toEqual(['GEMINI_API_KEY']);
    expect(missingProviderKeys(cfg({ TODO_AI_PROVIDER: 'bedrock' }), { AWS_PROFILE: 'p' })).toEqual([]);
    expect(missingProviderKeys(cfg({ TODO_AI_PROVIDER: 'ollama' }), {})).toEqual([]);
  });

  it('the request carries the scope, since kubectl-ai has no --namespace', () => {
    expect(scopedRequest(' fix it ', { namespace: 'todo', release: 'rel', script: 'debug' })).toMatch(
      /^fix it\n\nWork only in the Kubernetes namespace "todo" .*release "rel"\. The debug script's own findings follow\.$/,
    );
  });
});

describe('judging a kubectl-ai run', () => {
  const ok = { exitCode: 0, stderr: '', trace: '' };
  it('pairs tool requests with their responses; a non-zero exit or an error is a failed command', () => {
    const t = trace([
      req('1', 'kubectl get pods'),
      resp('1', { command: 'bash -c kubectl get pods', stdout: 'pod/a\n' }),
      req('2', 'kubectl get nodes'),
      resp('2', { error: 'exit status 1', exit_code: 1, stderr: 'forbidden\nmore' }),
      req('3', 'kubectl get svc'),
    ]);
    expect(tracedCommands(t)).toEqual([
      { tool: 'kubectl', command: 'kubectl get pods', modifies: 'no', ok: true, stdout: 'pod/a\n' },
      { tool: 'kubectl', command: 'kubectl get nodes', modifies: 'no', ok: false, error: 'exit status 1' },
      { tool: 'kubectl', command: 'kubectl get svc', modifies: 'no', ok: false, error: 'no response recorded' },
    ]);
  });

  it('exit 0 with a failed command is a failed step (kubectl-ai exits 0 regardless)', () => {
    const t = trace([
      req('1', 'kubectl rollout restart deploy/x'),
      resp('1', { error: 'exit status 1', exit_code: 1 }),
    ]);
    const j = judgeAiRun({ ...ok, stdout: 'Running: kubectl rollout restart deploy/x\nIt failed.', trace: t }, 'todo');
    expect(j).toMatchObject({
      status: 'failed',
      detail: '1 of 1 command(s) kubectl-ai ran failed: kubectl rollout restart deploy/x: exit status 1',
      answer: 'It failed.',
    });
  });

  it('done: the commands it ran; no command: its answer', () => {
    const t = trace([req('1', 'kubectl get pods'), resp('1', { stdout: 'x' })]);
    expect(
      judgeAiRun(
        { ...ok, stdout: '\u001b[32m\n  Running: kubectl get pods\n\u001b[0m\n  All good.   \n', trace: t },
        'todo',
      ),
    ).toMatchObject({ status: 'done', detail: 'ran 1 command(s): kubectl get pods', answer: 'All good.' });
    expect(judgeAiRun({ ...ok, stdout: '\n  Line one.\n    - nested\n  Line two.  \n' }, 'todo').answer).toBe(
      'Line one.\n  - nested\nLine two.',
    );
    expect(judgeAiRun({ ...ok, stdout: 'Pods crash because of X.' }, 'todo')).toMatchObject({
      status: 'done',
      detail: 'answered without running a command: Pods crash because of X.',
    });
  });

  it('a command outside the namespace fails the step', () => {
    expect(outOfScope('kubectl get pods -n kube-system', 'todo')).toBe(true);
    expect(outOfScope('kubectl get pods --namespace=todo', 'todo')).toBe(false);
    expect(outOfScope('kubectl get pods -A', 'todo')).toBe(true);
    expect(outOfScope('kubectl get pods --all-namespaces', 'todo')).toBe(true);
    expect(outOfScope('kubectl get pods -l app=a', 'todo')).toBe(false);
    const t = trace([req('1', 'kubectl get secrets -A'), resp('1', { stdout: 'x' })]);
    expect(judgeAiRun({ ...ok, stdout: '', trace: t }, 'todo')).toMatchObject({
      status: 'failed',
      detail: 'kubectl-ai ran a command outside namespace todo: kubectl get secrets -A',
      outOfScope: ['kubectl get secrets -A'],
    });
  });

  it('refused without --yes, rate-limited, unreachable, other failures: one line each', () => {
    const refused =
      'RunOnce mode cannot handle permission requests. The following commands require approval:\n* kubectl scale deployment/x --replicas=3\nUse --skip-permissions flag';
    expect(
      judgeAiRun(
        {
          exitCode: 1,
          stdout: refused,
          stderr: `Error: running UI: ${refused}\nUsage:\n  kubectl-ai [flags]`,
          trace: '',
        },
        'todo',
      ),
    ).toMatchObject({
      status: 'skipped',
      detail:
        'kubectl-ai wanted to change the cluster (kubectl scale deployment/x --replicas=3) and was refused: pass --yes to let it; nothing was changed by it',
    });
    expect(
      judgeAiRun(
        {
          exitCode: 1,
          stdout: '',
          stderr: 'Error: POST "http://h/v1/chat/completions": 429 Too Many Requests',
          trace: '',
        },
        'todo',
      ).detail,
    ).toBe('the model is rate-limited (429): AI unavailable for now');
    expect(
      judgeAiRun(
        {
          exitCode: 1,
          stdout: '',
          stderr:
            'E1127 12:00:00.000 1 x.go:1] noise\nError: OpenAI streaming error: Post "http://127.0.0.1:9/v1": dial tcp 127.0.0.1:9: connect: connection refused\nUsage:',
          trace: '',
        },
        'todo',
      ).detail,
    ).toBe(
      'the model endpoint cannot be reached: OpenAI streaming error: Post "http://127.0.0.1:9/v1": dial tcp 127.0.0.1:9: connect: connection refused',
    );
    expect(
      judgeAiRun(
        {
          exitCode: 2,
          stdout: '',
          stderr: 'Error: creating llm client: bad model\nUsage:\n  kubectl-ai [flags]',
          trace: '',
        },
        'todo',
      ).detail,
    ).toBe('kubectl-ai failed (exit 2): creating llm client: bad model');
    expect(judgeAiRun({ exitCode: null, stdout: '', stderr: '', trace: '', timedOut: true }, 'todo').detail).toMatch(
      /did not finish in time/,
    );
    // Stopped after printing its error (it does not always exit then): judged by that error.
    expect(
      judgeAiRun(
        {
          exitCode: null,
          stdout: '\u001b[31mError: OpenAI streaming error: dial tcp 127.0.0.1:9: connect: connection refused\u001b[0m',
          stderr: '',
          trace: '',
        },
        'todo',
      ).detail,
    ).toBe(
      'the model endpoint cannot be reached: OpenAI streaming error: dial tcp 127.0.0.1:9: connect: connection refused',
    );
    expect(
      judgeAiRun({ exitCode: 0, stdout: 'Error: 429 Too Many Requests', stderr: '', trace: '' }, 'todo').detail,
    ).toBe('the model is rate-limited (429): AI unavailable for now');
  });
});

describe("doctor's kubectl-ai finding", () => {
  it('ok, info when absent, info when unconfigured (warn when TODO_AI=kubectl-ai asks for it), info when switched off: never required', () => {
    const s = { path: '/bin/kubectl-ai', version: '0.0.28', provider: 'openai', missing: [] };
    expect(assessAi(s, 'auto')).toMatchObject({
      name: 'kubectl-ai',
      level: 'ok',
      required: false,
      detail: '/bin/kubectl-ai, version 0.0.28; provider openai configured',
    });
    expect(assessAi({ ...s, missing: ['OPENAI_API_KEY'] }, 'auto')).toMatchObject({
      level: 'info',
      required: false,
      detail:
        '/bin/kubectl-ai, version 0.0.28; provider openai is not configured (OPENAI_API_KEY unset): --ai is unavailable',
      hint: 'set OPENAI_API_KEY in env/.env.local, or TODO_AI_PROVIDER',
    });
    expect(assessAi({ ...s, missing: ['OPENAI_API_KEY'] }, 'kubectl-ai')).toMatchObject({ level: 'warn' });
    expect(
      assessAi({ provider: 'gemini', missing: [], problem: 'kubectl-ai not found on PATH' }, 'auto'),
    ).toMatchObject({ level: 'info', required: false, evidence: { configured: false, path: null } });
    expect(assessAi(s, 'off')).toMatchObject({
      level: 'info',
      detail: 'not used (TODO_AI=off); /bin/kubectl-ai, version 0.0.28',
    });
  });
});

describe('the --ai flag', () => {
  const spec: ScriptSpec = { name: 'x', summary: 's', touches: 'reads', ai: {}, run: async () => undefined };
  it('a script with an ai spec offers --ai and --yes (for kubectl-ai); without one, neither', () => {
    expect(helpText(spec)).toMatch(/--ai REQUEST +also ask kubectl-ai/);
    expect(helpText(spec)).toMatch(/--yes +let --ai's kubectl-ai change the cluster/);
    expect(parseFlags(spec, ['--ai', 'why', '--yes']).flags).toMatchObject({ ai: 'why', yes: true });
    expect(helpText({ ...spec, ai: undefined })).not.toMatch(/--ai|--yes/);
  });

  it("the context is the result's findings and actions, the AI step left out", () => {
    const r = new Result();
    r.finding({
      name: 'pod crash-looping',
      level: 'fail',
      detail: 'exit 1',
      hint: 'kubectl logs x',
      object: { kind: 'Pod', name: 'x' },
      evidence: { exitCode: 1 },
    });
    r.action({ what: 'scale', target: 'deployment/b', reason: 'r', status: 'done', detail: '3/3 Ready' });
    r.action({ what: 'kubectl-ai', target: 'namespace t', reason: 'r', status: 'done' });
    expect(resultText(r)).toBe(
      'Findings:\n- [fail] pod crash-looping pod/x: exit 1\n  next: kubectl logs x\n  evidence: {"exitCode":1}\n\nActions:\n- scale deployment/b: done (3/3 Ready)',
    );
  });

  it('an empty request is a one-line usage error, exit 2', async () => {
    const r = await run('scripts/debug.ts', ['--ai', ' '], { env: scratchEnv({ KUBECONFIG: '/nonexistent' }) });
    assertFailure(r, 2);
    expect(r.stderr.trim()).toBe('debug: --ai needs a request in plain words, e.g. --ai "why are the pods failing"');
  });
});
