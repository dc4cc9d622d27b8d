// Webhook delivery: a JSON body (with a Slack-compatible `text`) POSTed to every configured URL, retried with
// exponential backoff, never awaited by the ingest path.
import type { Alert } from '../../protocol/index.js';

export type AlertEvent = 'firing' | 'escalated' | 'resolved';

export interface WebhookOptions {
  urls: readonly string[];
  /** Base URL of the dashboard, for links in messages. */
  publicUrl: string;
  retries?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
  onGiveUp?: (url: string, error: string) => void;
}

const ICON: Record<Alert['severity'], string> = {
  info: ':information_source:',
  warn: ':warning:',
  critical: ':rotating_light:',
};

/** The one line (plus remedy) a person reads in Slack or an e-mail. */
export function alertText(event: AlertEvent, alert: Alert, runName: string, publicUrl: string): string {
  const what =
    event === 'resolved'
      ? 'resolved'
      : event === 'escalated'
        ? `escalated to ${alert.severity.toUpperCase()}`
        : alert.severity.toUpperCase();
  const rule = alert.key ? `${alert.rule} (${alert.key})` : alert.rule;
  const step = event === 'resolved' ? alert.step_closed : alert.step_opened;
  const lines = [
    `${ICON[alert.severity]} ganwatch ${what}: ${rule} on run "${runName}" at step ${step ?? '?'}: ${alert.message}`,
  ];
  if (event !== 'resolved' && alert.remedy) lines.push(`Remedy: ${alert.remedy.text}`);
  lines.push(`${publicUrl}/#/runs/${alert.run}`);
  return lines.join('\n');
}

export class WebhookSender {
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly timeoutMs: number;
  /** Deliveries started but not finished (for the queue cap, tests and clean shutdown). */
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: WebhookOptions) {
    this.retries = options.retries ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  get enabled(): boolean {
    return this.options.urls.length > 0;
  }

  send(event: AlertEvent, alert: Alert, runName: string): void {
    if (!this.enabled || this.closed) return;
    const body = JSON.stringify({
      event,
      alert,
      run: { id: alert.run, name: runName },
      text: alertText(event, alert, runName, this.options.publicUrl),
    });
    for (const url of this.options.urls) {
      if (this.pending.size > 1000) {
        this.options.onGiveUp?.(url, 'more than 1000 deliveries queued; dropping');
        continue;
      }
      const p = this.deliver(url, body).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
  }

  /** Waits for deliveries in progress (with their retries) to finish or give up. */
  async drain(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  close(): void {
    this.closed = true;
  }

  private async deliver(url: string, body: string): Promise<void> {
    let lastError = '';
    for (let attempt = 0; attempt <= this.retries && !this.closed; attempt++) {
      if (attempt > 0) await sleep(this.baseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2));
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        lastError = `HTTP ${res.status}`;
        if (res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408) break; // will not get better
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    this.options.onGiveUp?.(url, lastError);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
