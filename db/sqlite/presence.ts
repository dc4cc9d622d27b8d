// Presence on SQLite: one server process owns the file, so who holds which run is kept in memory. At start-up nothing
// is held, which makes every run left running by a previous process `unheld` (as it should: that process is gone).
import type { PresenceRepo, RunRef, RunsRepo } from '../store.js';

export class MemoryPresence implements PresenceRepo {
  private readonly holders = new Map<number, string>();

  constructor(private readonly runs: RunsRepo) {}

  async beat(): Promise<number> {
    return 1;
  }

  async leave(server: string): Promise<void> {
    for (const [rid, holder] of this.holders) if (holder === server) this.holders.delete(rid);
  }

  async claim(rid: number, server: string): Promise<void> {
    this.holders.set(rid, server);
  }

  async release(rid: number, server: string): Promise<boolean> {
    if (this.holders.get(rid) !== server) return false;
    this.holders.delete(rid);
    return true;
  }

  async holder(rid: number): Promise<string | null> {
    return this.holders.get(rid) ?? null;
  }

  async sweep(): Promise<RunRef[]> {
    return [];
  }

  async unheld(): Promise<RunRef[]> {
    const out: RunRef[] = [];
    for (const id of await this.runs.liveIds()) {
      const ref = await this.runs.ref(id);
      if (ref && !this.holders.has(ref.rid)) out.push(ref);
    }
    return out;
  }

  /** One process serves a SQLite file: it is the leader. */
  async isLeader(): Promise<boolean> {
    return true;
  }
}
