// build-images' text view: the references built (with their seconds), or under
// --dry-run the exact command lines, or each image's status when one failed.
import type { Result } from '../lib/kit/result.ts';
import { commandLine } from '../lib/kit/shell.ts';
import type { BuildImagesContext } from './spec.ts';

export function renderBuildImages(result: Result, ctx: BuildImagesContext): void {
  const { images, builder, tag, commands } = result.data as {
    images: Record<string, string>;
    builder: string;
    tag: string;
    commands: string[][];
  };
  if (ctx.dryRun) {
    ctx.out.say(`dry run: would build with ${builder} (${result.actions[0]?.reason}):`);
    for (const c of commands) ctx.out.say(`  ${commandLine(c[0]!, c.slice(1))}`);
  } else if (result.actions.some((a) => a.status === 'failed')) {
    for (const a of result.actions) ctx.out.say(`${a.target}: ${a.status}${a.detail ? ` (${a.detail})` : ''}`);
    return;
  } else ctx.out.say(`built with ${builder}, tag ${tag}:`);
  for (const [n, r] of Object.entries(images))
    ctx.out.say(
      `${n.padEnd(8)}  ${r}${(result.data.seconds as Record<string, number> | undefined)?.[n] !== undefined ? `  (${(result.data.seconds as Record<string, number>)[n]} s)` : ''}`,
    );
}
