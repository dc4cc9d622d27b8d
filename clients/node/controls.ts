// Control commands from the server (set an lr, pause, stop, ...) and the trainer's answers. A command goes to the
// registered handlers, or waits for takeControls() when there are none; it is delivered once even when the server
// sends it again, and an answer the server may have missed (given while disconnected, or asked for again) is resent.
import Value from 'typebox/value';
import { ControlCommand, gwError, type ControlResultFrame } from '../../protocol/index.js';
import { isCount } from './points.js';
import type { Reporter } from './report.js';

/** A control command from the server, with the id to answer it with. */
export type ReceivedControl = ControlCommand & { id: number };

const RESULT_MEMORY = 256;
const QUEUE_CAP = 1_000;
const MESSAGE_CHARS = 2000;

export class Controls {
  private readonly handlers = new Set<(control: ReceivedControl) => void>();
  private queue: ReceivedControl[] = [];
  private readonly seen = new Set<number>();
  private readonly results = new Map<number, ControlResultFrame>();
  private unsent: ControlResultFrame[] = [];

  /** `send` puts a frame on the socket (false when it is closed); null: offline, answers are never sent. */
  constructor(
    private readonly send: ((text: string) => boolean) | null,
    private readonly reporter: Reporter,
  ) {}

  /** A control frame from the server. */
  receive(id: number, action: string, args: Record<string, unknown>): void {
    if (!isCount(id)) return;
    const answered = this.results.get(id);
    if (answered) {
      // The server resent a command we already answered (our answer may have been lost): answer again.
      this.send?.(JSON.stringify(answered));
      return;
    }
    if (this.seen.has(id)) return;
    this.seen.add(id);
    const command = { action, args };
    if (!Value.Check(ControlCommand, command)) {
      this.answer(id, false, undefined, `this trainer does not understand control '${action}' with these arguments`);
      return;
    }
    const control = { id, ...(command as ControlCommand) };
    if (this.handlers.size === 0) {
      this.queue.push(control);
      if (this.queue.length > QUEUE_CAP) this.queue.shift();
      return;
    }
    for (const handler of [...this.handlers]) {
      try {
        handler(control);
      } catch (err) {
        this.reporter.report(gwError('GW_ERR_MONITOR_INPUT', `control handler threw: ${(err as Error).message}`));
      }
    }
  }

  /** Calls `handler` for each command as it arrives; returns a function that unregisters it. */
  onControl(handler: (control: ReceivedControl) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Commands received since the last call (while no handler is registered), oldest first. */
  take(): ReceivedControl[] {
    const taken = this.queue;
    this.queue = [];
    return taken;
  }

  /** Answers control `id`: applied (`ok`) at `step`, or failed with `message`. Sent now, or after reconnecting. */
  answer(id: number, ok: boolean, step?: number, message?: string): void {
    const frame: ControlResultFrame = { type: 'control_result', id, ok };
    if (step !== undefined && isCount(step)) frame.step = step;
    if (message !== undefined) frame.message = message.slice(0, MESSAGE_CHARS);
    this.results.set(id, frame);
    if (this.results.size > RESULT_MEMORY) {
      const oldest = this.results.keys().next().value;
      if (oldest !== undefined) this.results.delete(oldest);
    }
    if (this.send === null) return;
    if (!this.send(JSON.stringify(frame))) this.unsent.push(frame);
  }

  /** A new connection: the answers that could not be sent before. */
  resendUnsent(): void {
    if (this.send === null) return;
    const unsent = this.unsent;
    this.unsent = [];
    for (const frame of unsent) if (!this.send(JSON.stringify(frame))) this.unsent.push(frame);
  }
}
