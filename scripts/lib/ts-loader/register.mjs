// `--import todo-chatbot-ops-ts-loader`: on a Node that strips types itself
// (22.18+, 24) nothing is registered; elsewhere .ts modules load through hooks.mjs.
import { register } from 'node:module';

if (!process.features.typescript) register('./hooks.mjs', import.meta.url);
