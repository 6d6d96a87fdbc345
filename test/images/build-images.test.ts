// scripts/build-images.ts with the real buildah (no stand-in executable): the
// script's own `buildah bud` command line builds the backend image FROM the
// python stand-in, and its JSON names an image that exists and carries the
// commit. The harness's store, chroot isolation and CA mounts reach the plain
// command through containers.conf/storage.conf (containersEnv), so the layers
// the backend test built are reused and this takes seconds when they are warm.
import { beforeAll, describe, expect, it } from 'vitest';
import { assertSuccess, run, scratchEnv } from '../helpers/run.ts';
import {
  containersEnv,
  ensureStandins,
  inspectImage,
  exec,
  repoRoot,
  buildah,
  type Standins,
} from '../../scripts/lib/local-cluster/image-builds.ts';

describe('scripts/build-images.ts with the real buildah', () => {
  let standins: Standins;
  const tag = 'e2e-build-images';
  beforeAll(async () => {
    standins = await ensureStandins();
  });

  it('builds the backend image, tags it, labels it with the commit and prints its reference as JSON', async () => {
    const r = await run(
      'scripts/build-images.ts',
      [
        '--builder',
        'buildah',
        '--only',
        'backend',
        '--tag',
        tag,
        '--build-arg',
        `PYTHON_IMAGE=${standins.python}`,
        '-o',
        'json',
      ],
      { env: scratchEnv({ ...containersEnv(), TODO_IMAGE_REGISTRY: '' }), timeoutMs: 1_500_000 },
    );
    assertSuccess(r);
    const env = r.json<{ ok: boolean; data: { builder: string; tag: string; images: Record<string, string> } }>();
    expect(env.ok).toBe(true);
    const doc = env.data;
    expect(doc).toMatchObject({ builder: 'buildah', tag, images: { backend: `todo-chatbot-backend:${tag}` } });
    expect(Object.keys(doc.images)).toEqual(['backend']);

    const info = await inspectImage(`localhost/${doc.images.backend}`);
    expect(info, 'the printed reference exists in the store').toBeDefined();
    const sha = (await exec('git', ['rev-parse', 'HEAD'], { cwd: repoRoot })).stdout.trim();
    expect(info!.labels['org.opencontainers.image.revision']).toMatch(new RegExp(`^${sha}(-dirty)?$`));
    expect(info!.labels['org.opencontainers.image.version']).toBe(tag);
    expect(Date.parse(info!.labels['org.opencontainers.image.created']!)).toBeGreaterThan(Date.now() - 3_600_000);
    expect(info!.user).toBe('10001:10001');
    await buildah(['rmi', `localhost/${doc.images.backend}`], { check: false });
  });
});
