// History that ops scripts keep between runs (samples for trends, actions
// taken), one JSON line per record under $TODO_STATE_DIR.
import fs from 'node:fs';
import path from 'node:path';

export function appendRecord(stateDir: string, stream: string, record: object): void {
  fs.mkdirSync(stateDir, { recursive: true });
  fs.appendFileSync(path.join(stateDir, `${stream}.jsonl`), JSON.stringify({ at: new Date().toISOString(), ...record }) + '\n');
}

export function readRecords<T = Record<string, unknown>>(stateDir: string, stream: string, limit = 10_000): T[] {
  const file = path.join(stateDir, `${stream}.jsonl`);
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return lines.slice(-limit).flatMap((l) => {
    try {
      return [JSON.parse(l) as T];
    } catch {
      return []; // a line cut by a crash mid-write is skipped, not fatal
    }
  });
}
