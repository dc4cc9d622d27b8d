// How the client tells its user about the problems it meets and survives (network, rejected batches, disk): one
// callback, the last problem kept for stats(), and a connection failure reported once rather than on every retry.
import type { GanwatchError } from '../../protocol/index.js';

export type ErrorHandler = (error: GanwatchError) => void;

export class Reporter {
  private last: string | null = null;
  private lastConnection: string | null = null;

  constructor(private readonly handler: ErrorHandler | undefined) {}

  /** `CODE: message` of the last problem, or null. */
  get lastError(): string | null {
    return this.last;
  }

  report(error: GanwatchError): void {
    this.last = `${error.code}: ${error.message}`;
    if (!this.handler) return;
    try {
      this.handler(error);
    } catch {
      // A throwing error callback must not break the client.
    }
  }

  /** Reports a connection problem once, not on every retry of the same failure. */
  connection(error: GanwatchError): void {
    if (error.message === this.lastConnection) {
      this.last = `${error.code}: ${error.message}`;
      return;
    }
    this.lastConnection = error.message;
    this.report(error);
  }

  /** The connection works again, or points somewhere else: its next failure is news. */
  connectionRestored(): void {
    this.lastConnection = null;
  }
}
