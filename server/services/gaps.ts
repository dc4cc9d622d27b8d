// Connection gaps: a run whose trainer could not reach the server (socket closed, server down or restarted) is
// `disconnected`; when the trainer is back the run is `running` again and the gap is kept as a marker, so the
// dashboard can shade the stretch of wall time that the curves bridged from the trainer's spool. (Runs whose server
// died are found by the presence sweep, server/cluster/presence.ts.)
import type { RunRef } from '../../db/store.js';
import type { ServerContext } from '../context.js';
import type { TrainerSocket } from './trainers.js';

/** Gaps shorter than this are ordinary reconnects (a restarted socket) and leave no marker. */
export const MIN_GAP_SECONDS = 5;

/** The metric name of gap markers: they concern the whole run, not one curve. */
export const GAP_METRIC = '*';

/** A trainer socket opened for `run`: a disconnected run goes back to running, and a long enough gap is recorded. */
export async function trainerConnected(ctx: ServerContext, run: RunRef): Promise<void> {
  // This server holds the run from now on: controls issued anywhere come here, its detectors run here.
  await ctx.presence.claim(run);
  ctx.relay.claimed(run.id);
  const current = await ctx.store.runs.get(run.id);
  if (!current || current.status !== 'disconnected') return;
  await ctx.setStatus(run, 'running');
  const since = current.last_seen_at ?? current.updated_at;
  const until = Date.now() / 1000;
  if (until - since < MIN_GAP_SECONDS) return;
  const [marker] = await ctx.store.markers.add(run.rid, [
    {
      metric: GAP_METRIC,
      step: current.last_step ?? 0,
      changeAt: null,
      kind: 'gap',
      evidence: {
        from: since,
        to: until,
        seconds: Math.round((until - since) * 10) / 10,
        last_step: current.last_step,
        disconnected_at: current.updated_at,
      },
    },
  ]);
  ctx.hub.publish(run.id, { type: 'marker', run: run.id, marker: marker! });
}

/**
 * A trainer connection ended (socket closed, or an HTTP trainer stopped polling): the run is disconnected if it was its
 * last and no other server has taken the run over.
 */
export async function trainerGone(ctx: ServerContext, run: RunRef, trainer: TrainerSocket): Promise<void> {
  if (ctx.trainers.detach(run.id, trainer) > 0) return;
  // The trainer may have reconnected to another server already (which then holds the run): it is not disconnected.
  if (!(await ctx.presence.release(run))) return;
  const now = await ctx.store.runs.ref(run.id);
  if (now && (now.status === 'running' || now.status === 'paused')) await ctx.setStatus(run, 'disconnected');
}
