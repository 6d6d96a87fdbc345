// bootstrap's own settings (the Minikube cluster it starts), and the one it
// reads from the agents module: TODO_KAGENT_ENABLED is declared by
// lib/agents-settings.ts when that module is in the checkout; until then
// bootstrap declares it itself (off), so an env file may carry it either way.
import fs from 'node:fs';
import path from 'node:path';
import { bool, defineSettings, int, oneOf, setting, type Parser, type Settings } from './settings.ts';

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

/** The agents module's settings when present (they hold TODO_KAGENT_ENABLED), else bootstrap's stand-in declaration. */
export async function agentsSettings(): Promise<Settings> {
  const file = path.join(import.meta.dirname, 'agents-settings.ts');
  if (fs.existsSync(file)) {
    try {
      const mod = (await import(file)) as Record<string, unknown>;
      for (const v of Object.values(mod)) if (v && typeof v === 'object' && 'TODO_KAGENT_ENABLED' in v) return v as Settings;
    } catch {
      /* unreadable: fall back below */
    }
  }
  return { TODO_KAGENT_ENABLED: setting(bool, false, 'install kagent and apply the agents (ops/agents.ts apply)') };
}
