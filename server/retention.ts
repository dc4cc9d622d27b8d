// Retention: runs that finished or failed more than N days ago are deleted, with everything they own, at start-up and
// then once a day. Runs still running, paused or disconnected are never deleted (a disconnected run may be resumed).
import { endedRunsBefore } from '../db/maintenance.js';
import type { ServerContext } from './context.js';

export const DAY_S = 86_400;

/** Deletes one run (DELETE /runs/:id and retention): storage, alert state, and a run_deleted frame to live watchers. */
export function deleteRun(ctx: ServerContext, id: string): boolean {
  if (!ctx.store.deleteRun(id)) return false;
  ctx.alerts.forgetRun(id);
  ctx.hub.publish(id, { type: 'run_deleted', run: id });
  return true;
}

/** Deletes every run that ended more than `days` days before `now` (seconds); returns their ids. */
export function pruneEndedRuns(ctx: ServerContext, days: number, now = Date.now() / 1000): string[] {
  const ids = endedRunsBefore(ctx.store.db, now - days * DAY_S);
  return ids.filter((id) => deleteRun(ctx, id));
}

/** Prunes now and every `everyMs` (default a day); returns a function that stops the timer. */
export function startRetention(
  ctx: ServerContext,
  days: number,
  log: (msg: string) => void,
  everyMs = DAY_S * 1000,
): () => void {
  const prune = (): void => {
    try {
      const ids = pruneEndedRuns(ctx, days);
      if (ids.length)
        log(`retention: deleted ${ids.length} run(s) that ended more than ${days} days ago: ${ids.join(', ')}`);
    } catch (err) {
      log(`retention: pruning failed: ${(err as Error).message}`);
    }
  };
  prune();
  const timer = setInterval(prune, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
