// build-images' options and settings, apart from its run module: the entry
// file reads them for --help. None of the settings are its own: TODO_BUILDER,
// TODO_TARGET and TODO_IMAGE_REGISTRY are the kit's, read by deploy too.
import type { Context, OptionSpec } from '../lib/kit/cli.ts';
import { defineSettings } from '../lib/kit/settings.ts';
import { builders } from './builders.ts';

export const options = {
  builder: { type: 'enum', choices: ['auto', ...builders], help: 'image builder (default $TODO_BUILDER, else auto)' },
  only: { type: 'enum', choices: ['frontend', 'backend'], help: 'build one image only' },
  tag: { type: 'string', arg: 'TAG', help: 'tag to use instead of the git short SHA' },
  'build-arg': { type: 'list', arg: 'KEY=VALUE', help: 'extra build arg, e.g. NODE_IMAGE=... (repeatable)' },
} as const satisfies Record<string, OptionSpec>;

export const settings = defineSettings({});

export type BuildImagesContext = Context<typeof options, typeof settings>;
