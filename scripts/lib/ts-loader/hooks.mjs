// The load hook register.mjs installs: .ts files load as their cached transform.
// Not async: the same function serves module.registerHooks (in-thread, where
// next() answers at once) and module.register (off-thread, where it is a promise).
import { fileURLToPath } from 'node:url';
import { javascriptOf } from './cache.mjs';

export function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  return { format: 'module', source: javascriptOf(fileURLToPath(url)), shortCircuit: true };
}
