// The reads backup and restore share: where archives are kept, and what a
// namespace holds of the kinds a backup keeps (one List per kind).
import path from 'node:path';
import type { Context } from '../kit/cli.ts';
import { kinds, type Obj } from './objects.ts';

/** Where archives live: `configured` (--dir, else TODO_BACKUP_DIR), else backups/ in the state directory of this context and namespace. */
export async function backupDir(ctx: Context, configured: string): Promise<string> {
  return path.resolve(configured || path.join((await ctx.state()).dir, 'backups'));
}

/** The namespace's objects of every kind we keep: one List per kind. */
export async function listObjects(ctx: Context, namespace: string): Promise<Obj[]> {
  const kube = await ctx.kube();
  const lists = await Promise.all(
    kinds.map(async (k) =>
      (
        await kube.list<Obj>(k.apiVersion, k.kind, namespace).catch((e) => {
          // A kind the cluster does not serve (an old API) is simply absent.
          if ((e as { code?: number })?.code === 404) return [] as Obj[];
          throw e;
        })
      ).map((o) => ({ ...o, apiVersion: k.apiVersion, kind: k.kind })),
    ),
  );
  return lists.flat();
}
