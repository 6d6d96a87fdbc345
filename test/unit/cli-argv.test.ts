// Where a script's own arguments start: after its entry file, however it was
// started (zx's CLI, the shebang, node/tsx directly).
import { describe, expect, it } from 'vitest';
import { scriptArgv } from '../../scripts/lib/kit/cli.ts';

describe('scriptArgv', () => {
  it("under zx's CLI: after the script, zx's own flags skipped", () => {
    expect(
      scriptArgv(['/usr/bin/node', '/repo/node_modules/zx/build/cli.js', 'scripts/debug.ts', 'web', '-n', 'todo']),
    ).toEqual({ entry: 'scripts/debug.ts', args: ['web', '-n', 'todo'] });
    expect(scriptArgv(['/usr/bin/node', '/repo/node_modules/.bin/zx', '--quiet', 'scripts/debug.ts', 'web'])).toEqual({
      entry: 'scripts/debug.ts',
      args: ['web'],
    });
  });
  it('run by node or tsx directly: after argv[1]', () => {
    expect(scriptArgv(['/usr/bin/node', '/repo/scripts/debug.ts', '--since', '5m'])).toEqual({
      entry: '/repo/scripts/debug.ts',
      args: ['--since', '5m'],
    });
  });
});
