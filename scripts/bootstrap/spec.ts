// bootstrap's options and own settings: the Minikube cluster it starts.
// (TODO_KAGENT_ENABLED, which its ai step reads, is shared: scripts/lib/ai/kagent/settings.ts.)
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { bool, defineSettings, int, oneOf, setting, type Parser } from '../lib/kit/settings.ts';
import { steps, targets } from './steps.ts';

/** minikube's --memory: megabytes, or a number with m/mb/g/gb. */
const memory: Parser<string> = (v, key) => {
  if (!/^\d+(m|mb|g|gb)?$/i.test(v)) throw new Error(`${key} must be megabytes or a size like 6g, got "${v}"`);
  return v;
};

export const options = {
  target: {
    type: 'enum',
    choices: targets,
    help: 'minikube, current (the kube context as it is) or local (the test cluster); default: minikube if installed, else local',
  },
  from: { type: 'enum', choices: steps, arg: 'STEP', help: 'start at this step (resume after a failure)' },
  only: { type: 'list', arg: 'STEP', help: 'run only these steps' },
  skip: { type: 'list', arg: 'STEP', help: 'leave these steps out' },
  list: { type: 'boolean', help: 'show the steps and which this run would do, then stop' },
  'with-cron': { type: 'boolean', help: 'also install the ops scripts in cron (scripts/cron.ts install)' },
  'with-kagent': {
    type: 'boolean',
    help: 'local target: add the real kagent (built from ../shared/vendor) and apply the Agents; their model: OPENAI_API_KEY, TODO_KAGENT_MODEL_URL, TODO_KAGENT_MODEL',
  },
  yes: {
    type: 'boolean',
    short: 'y',
    help: 'local target: install missing system packages (apt-get, as root on Debian/Ubuntu) without asking',
  },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({
  TODO_BOOTSTRAP_MINIKUBE_DRIVER: setting(
    oneOf('docker', 'podman', 'kvm2', 'qemu', 'virtualbox', 'hyperkit', 'hyperv', 'vfkit', 'none', 'ssh'),
    'docker',
    'minikube start --driver',
  ),
  TODO_BOOTSTRAP_MINIKUBE_CPUS: setting(int(2, 64), 4, 'minikube start --cpus'),
  TODO_BOOTSTRAP_MINIKUBE_MEMORY: setting(memory, '6g', 'minikube start --memory (e.g. 6g, 8192)'),
  TODO_BOOTSTRAP_INSTALL: setting(
    bool,
    false,
    'local target: install missing system packages without a terminal to ask (as --yes)',
  ),
});

export type BootstrapContext = Context<typeof options, typeof settings>;
