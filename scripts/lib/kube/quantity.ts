// Kubernetes resource quantities ("250m", "1.5", "128Mi", "12345Ki", "3n")
// as plain numbers: CPU in cores, memory in bytes.
const suffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined || q === null || q === '') return undefined;
  if (typeof q === 'number') return q;
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
  if (!m) throw new Error(`not a quantity: "${q}"`);
  return Number(m[1]) * suffixes[m[2] ?? '']!;
}

export const formatCpu = (cores: number) =>
  cores >= 1 ? `${Number(cores.toFixed(2))}` : `${Math.round(cores * 1000)}m`;
export function formatBytes(b: number): string {
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${Number(b.toFixed(b >= 100 || i === 0 ? 0 : 1))}${units[i]}`;
}
