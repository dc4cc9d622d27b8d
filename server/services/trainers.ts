// Connected trainers: the ingest sockets per run, used to deliver controls the moment they are issued.
import type { ControlFrame } from '../../protocol/index.js';

export interface TrainerSocket {
  send(data: string): void;
}

export class TrainerRegistry {
  private readonly sockets = new Map<string, TrainerSocket[]>();

  attach(run: string, socket: TrainerSocket): void {
    const list = this.sockets.get(run) ?? [];
    list.push(socket);
    this.sockets.set(run, list);
  }

  /** Returns how many sockets the run still has. */
  detach(run: string, socket: TrainerSocket): number {
    const list = (this.sockets.get(run) ?? []).filter((s) => s !== socket);
    if (list.length) this.sockets.set(run, list);
    else this.sockets.delete(run);
    return list.length;
  }

  connected(run: string): boolean {
    return this.sockets.has(run);
  }

  get count(): number {
    let n = 0;
    for (const list of this.sockets.values()) n += list.length;
    return n;
  }

  /** Sends a control to the run's newest trainer socket; false when no trainer is connected. */
  sendControl(run: string, frame: ControlFrame): boolean {
    const list = this.sockets.get(run);
    const socket = list?.[list.length - 1];
    if (!socket) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }
}
