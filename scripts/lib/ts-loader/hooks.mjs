// The module hooks register.mjs installs: .ts files load as their cached transform.
import { fileURLToPath } from 'node:url';
import { javascriptOf } from './cache.mjs';

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  return { format: 'module', source: javascriptOf(fileURLToPath(url)), shortCircuit: true };
}
