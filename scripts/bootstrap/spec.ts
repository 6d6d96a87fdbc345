// bootstrap's own settings: the Minikube cluster it starts. (TODO_KAGENT_ENABLED,
// which its ai step reads, is a lib setting: lib/agents-settings.ts.)
import { defineSettings, int, oneOf, setting, type Parser } from '../lib/kit/settings.ts';

/** minikube's --memory: megabytes, or a number with m/mb/g/gb. */
const memory: Parser<string> = (v, key) => {
  if (!/^\d+(m|mb|g|gb)?$/i.test(v)) throw new Error(`${key} must be megabytes or a size like 6g, got "${v}"`);
  return v;
};

export const bootstrapSettings = defineSettings({
  TODO_BOOTSTRAP_MINIKUBE_DRIVER: setting(oneOf('docker', 'podman', 'kvm2', 'qemu', 'virtualbox', 'hyperkit', 'hyperv', 'vfkit', 'none', 'ssh'), 'docker', 'minikube start --driver'),
  TODO_BOOTSTRAP_MINIKUBE_CPUS: setting(int(2, 64), 4, 'minikube start --cpus'),
  TODO_BOOTSTRAP_MINIKUBE_MEMORY: setting(memory, '6g', 'minikube start --memory (e.g. 6g, 8192)'),
});
