// Retention: runs that finished or failed more than N days ago are deleted, with everything they own, at start-up and
// then once a day. Runs still running, paused or disconnected are never deleted (a disconnected run may be resumed).
import type { ServerContext } from '../context.js';

export const DAY_S = 86_400;

/** Deletes one run (DELETE /runs/:id and retention): storage, alert state, and a run_deleted frame to live watchers. */
export async function deleteRun(ctx: ServerContext, id: string): Promise<boolean> {
  if (!(await ctx.store.runs.delete(id))) return false;
  ctx.alerts.forgetRun(id);
  ctx.hub.publish(id, { type: 'run_deleted', run: id });
  return true;
}

/** Deletes every run that ended more than `days` days before `now` (seconds); returns their ids. */
export async function pruneEndedRuns(ctx: ServerContext, days: number, now = Date.now() / 1000): Promise<string[]> {
  const deleted: string[] = [];
  for (const id of await ctx.store.runs.endedBefore(now - days * DAY_S)) if (await deleteRun(ctx, id)) deleted.push(id);
  return deleted;
}

/** Prunes now and every `everyMs` (default a day); `done` settles when the first pass has, `stop` ends the timer. */
export function startRetention(
  ctx: ServerContext,
  days: number,
  log: (msg: string) => void,
  everyMs = DAY_S * 1000,
): { done: Promise<void>; stop: () => void } {
  const prune = async (): Promise<void> => {
    try {
      const ids = await pruneEndedRuns(ctx, days);
      if (ids.length)
        log(`retention: deleted ${ids.length} run(s) that ended more than ${days} days ago: ${ids.join(', ')}`);
    } catch (err) {
      log(`retention: pruning failed: ${(err as Error).message}`);
    }
  };
  const first = prune();
  const timer = setInterval(() => void prune(), everyMs);
  timer.unref();
  return { done: first, stop: () => clearInterval(timer) };
}
