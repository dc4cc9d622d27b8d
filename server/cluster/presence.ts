// This server's presence among those sharing the store: a heartbeat every second, the runs whose trainer is connected
// here (claimed in the store, so controls and detectors find them), and the sweep that marks `disconnected` the runs
// of servers that stopped beating (killed, or cut off from the database).
import { randomUUID } from 'node:crypto';
import { isGanwatchError } from '../../protocol/index.js';
import type { RunRef, Store } from '../../db/store.js';

export const HEARTBEAT_MS = 1000;
/** A server whose heartbeat is older than this is gone. Several missed beats: a busy event loop is not a death. */
export const STALE_SECONDS = 5;
/** How long a looked-up holder of a run is trusted before it is looked up again. */
const HOLDER_CACHE_MS = 2000;

export class PresenceService {
  readonly id = randomUUID();
  /** Servers alive on the store, this one included, as of the last heartbeat (or a newer server's hello). */
  alive = 1;
  private readonly held = new Map<string, RunRef>();
  private readonly holders = new Map<string, { server: string | null; at: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    /** Runs whose server is gone: the caller marks them disconnected. */
    private readonly onOrphans: (runs: RunRef[]) => Promise<void>,
    private readonly log: (msg: string, err?: unknown) => void,
  ) {}

  /** The first heartbeat (the other servers count this one from now on), then one every second. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.tick(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** At start-up: the runs no live server holds were left running by a server that stopped; they are orphans. */
  async adoptOrphans(): Promise<void> {
    await this.onOrphans(await this.store.presence.unheld(STALE_SECONDS));
  }

  /** A clean stop: the runs held here lose their trainer (unless it has moved on already), then this server leaves. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const lost: RunRef[] = [];
    for (const run of [...this.held.values()]) if (await this.release(run)) lost.push(run);
    await this.onOrphans(lost).catch((err: unknown) => this.log('presence: marking runs on stop', err));
    await this.store.presence.leave(this.id).catch(() => undefined);
  }

  /** The run's trainer connected here. */
  async claim(run: RunRef): Promise<void> {
    this.held.set(run.id, run);
    this.holders.set(run.id, { server: this.id, at: Date.now() });
    await this.store.presence.claim(run.rid, this.id);
  }

  /** The run's last trainer here went away; false if another server holds the run by now (its trainer moved there). */
  async release(run: RunRef): Promise<boolean> {
    const wasHeld = this.held.delete(run.id);
    this.holders.delete(run.id);
    try {
      return await this.store.presence.release(run.rid, this.id);
    } catch {
      return wasHeld; // the database is unreachable: judge by what this server knows
    }
  }

  /** The runs held here. */
  heldRuns(): string[] {
    return [...this.held.keys()];
  }

  holds(runId: string): boolean {
    return this.held.has(runId);
  }

  /** Another server claimed the run (its trainer moved there). */
  claimedElsewhere(runId: string, server: string): void {
    this.held.delete(runId);
    this.holders.set(runId, { server, at: Date.now() });
  }

  /** The live server holding the run, if any (looked up at most every 2 s per run). */
  async holder(run: RunRef): Promise<string | null> {
    if (this.held.has(run.id)) return this.id;
    const cached = this.holders.get(run.id);
    if (cached && Date.now() - cached.at < HOLDER_CACHE_MS) return cached.server;
    const server = await this.store.presence.holder(run.rid, STALE_SECONDS);
    this.holders.set(run.id, { server, at: Date.now() });
    return server;
  }

  private async beat(): Promise<void> {
    this.alive = await this.store.presence.beat(this.id, STALE_SECONDS);
  }

  private async tick(): Promise<void> {
    try {
      await this.beat();
      const lost = await this.store.presence.sweep(STALE_SECONDS);
      if (lost.length) await this.onOrphans(lost);
    } catch (err) {
      // The database is unreachable: ingest reports that; presence resumes when it is back.
      if (!isGanwatchError(err) || err.code !== 'GW_ERR_DB_UNAVAILABLE') this.log('presence heartbeat failed', err);
    }
  }
}
