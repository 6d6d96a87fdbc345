// Image references as the chart takes them: "registry/repository:tag" split into
// its image values, and deploy's --image flags. Pure.
export interface ImageValues {
  registry: string;
  repository: string;
  tag: string;
}

const repoPattern = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const registryPattern = /^[A-Za-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._/-]+)?$/;

/**
 * "registry.example.com:5000/team/todo-chatbot-backend:3f2a1bc" into the chart's
 * image values. A tag is required and must not be "latest"; digests are not
 * supported by the chart. Throws an Error saying what is wrong.
 */
export function parseImageRef(ref: string): ImageValues {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) throw new Error(`image "${ref}" has no tag (use name:tag; "latest" is refused)`);
  const tag = ref.slice(colon + 1);
  const path = ref.slice(0, colon);
  if (!tagPattern.test(tag) || tag === 'latest')
    throw new Error(`image "${ref}": bad tag "${tag}" (letters, digits, _ . -; not "latest")`);
  const parts = path.split('/');
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? parts.slice(0, -1).join('/') : '';
  const repository = hasRegistry ? parts[parts.length - 1]! : path;
  if (registry && !registryPattern.test(registry)) throw new Error(`image "${ref}": bad registry "${registry}"`);
  if (!repoPattern.test(repository))
    throw new Error(`image "${ref}": bad repository "${repository}" (lower-case letters, digits, . _ - and /)`);
  return { registry, repository, tag };
}

/** "frontend=REF" pairs (from --image) into a map; throws on anything else. */
export function parseImageFlags(flags: readonly string[]): Partial<Record<'frontend' | 'backend', string>> {
  const out: Partial<Record<'frontend' | 'backend', string>> = {};
  for (const f of flags) {
    const m = /^(frontend|backend)=(.+)$/.exec(f);
    if (!m) throw new Error(`--image must be frontend=REF or backend=REF, got "${f}"`);
    out[m[1] as 'frontend' | 'backend'] = m[2]!;
  }
  return out;
}
