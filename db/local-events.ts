// The events channel of a store that only one process uses (SQLite): messages go to the other channels open on the
// same file in this process, and nowhere else. One server per SQLite file has nobody else to tell.
import type { EventsChannel } from './store.js';

const byLocation = new Map<string, Set<LocalEvents>>();

export class LocalEvents implements EventsChannel {
  private readonly listeners = new Set<(message: string) => void>();

  constructor(private readonly location: string) {
    let peers = byLocation.get(location);
    if (!peers) byLocation.set(location, (peers = new Set()));
    peers.add(this);
  }

  publish(message: string): void {
    for (const peer of byLocation.get(this.location) ?? []) {
      if (peer === this) continue;
      for (const listener of peer.listeners) listener(message);
    }
  }

  subscribe(listener: (message: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** In one process the channel is never down. */
  onResumed(): () => void {
    return () => undefined;
  }

  close(): void {
    const peers = byLocation.get(this.location);
    peers?.delete(this);
    if (peers?.size === 0) byLocation.delete(this.location);
  }
}
