// The live socket (/api/v1/live): one connection for the whole page, subscriptions gathered from the open views,
// reconnection with backoff (re-subscribing, and telling views to reload what they may have missed).
import type { LiveServerFrame } from '../../protocol/index.js';
import { API_PREFIX } from '../../protocol/wire.js';
import { getToken } from './api.js';

export type LiveState = 'connecting' | 'open' | 'reconnecting';
type FrameListener = (frame: LiveServerFrame) => void;

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;

export class LiveConnection {
  private socket: WebSocket | null = null;
  private readonly wants = new Map<string, string[]>();
  private subscribed = new Set<string>();
  /** Runs the server has acknowledged (a `subscribed` frame): from then on nothing pushed for them is missed. */
  private confirmed = new Set<string>();
  private readyWaiters: Array<{ runs: string[]; resolve: () => void }> = [];
  private reopenPending = false;
  private readonly frameListeners = new Set<FrameListener>();
  private readonly stateListeners = new Set<(state: LiveState, retryInMs: number) => void>();
  private readonly reopenListeners = new Set<() => void>();
  private backoff = MIN_BACKOFF_MS;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private everOpened = false;
  private closedByUs = false;
  state: LiveState = 'connecting';

  connect(): void {
    this.closedByUs = false;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const t = getToken();
    const socket = new WebSocket(
      `${proto}//${location.host}${API_PREFIX}/live${t ? `?token=${encodeURIComponent(t)}` : ''}`,
    );
    this.socket = socket;
    socket.onopen = () => {
      this.backoff = MIN_BACKOFF_MS;
      this.subscribed = new Set();
      this.confirmed = new Set();
      this.reopenPending = this.everOpened;
      this.everOpened = true;
      this.sync();
      this.setState('open', 0);
      this.settle();
    };
    socket.onmessage = (event: MessageEvent<string>) => {
      let frame: LiveServerFrame;
      try {
        frame = JSON.parse(event.data) as LiveServerFrame;
      } catch {
        return;
      }
      if (frame.type === 'resync') {
        this.reopenListeners.forEach((fn) => fn());
        return;
      }
      if (frame.type === 'subscribed') {
        for (const r of frame.runs) if (this.subscribed.has(r)) this.confirmed.add(r);
        this.settle();
        return;
      }
      for (const fn of this.frameListeners) fn(frame);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.confirmed = new Set();
      if (this.closedByUs) return;
      const wait = this.backoff * (0.75 + Math.random() * 0.5);
      this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
      this.setState('reconnecting', wait);
      this.retryTimer = setTimeout(() => this.connect(), wait);
    };
  }

  close(): void {
    this.closedByUs = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.close();
  }

  /** Reconnects at once (e.g. after a new token was entered). */
  reconnectNow(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const old = this.socket;
    this.socket = null;
    old?.close();
    this.backoff = MIN_BACKOFF_MS;
    this.connect();
  }

  /** Declares which runs `who` needs (['*'] for all); the connection subscribes to the union of every declaration. */
  want(who: string, runs: string[]): void {
    if (runs.length) this.wants.set(who, runs);
    else this.wants.delete(who);
    this.sync();
  }

  /**
   * Resolves once the server has confirmed the subscription to `runs` (so reading data after it misses nothing pushed
   * meanwhile), or after `timeoutMs` when the server cannot be reached (the reads then fail on their own).
   */
  ready(runs: readonly string[], timeoutMs = 2000): Promise<void> {
    if (this.covers(runs)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { runs: [...runs], resolve };
      this.readyWaiters.push(waiter);
      setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
        resolve();
      }, timeoutMs);
    });
  }

  private covers(runs: readonly string[]): boolean {
    return runs.every((r) => this.confirmed.has(r) || this.confirmed.has('*'));
  }

  /** Wakes ready() waiters whose runs are confirmed; after a reconnect, tells views to reload once all are. */
  private settle(): void {
    this.readyWaiters = this.readyWaiters.filter((w) => {
      if (!this.covers(w.runs)) return true;
      w.resolve();
      return false;
    });
    if (this.reopenPending && this.covers([...this.subscribed])) {
      this.reopenPending = false;
      this.reopenListeners.forEach((fn) => fn());
    }
  }

  onFrame(fn: FrameListener): () => void {
    this.frameListeners.add(fn);
    return () => this.frameListeners.delete(fn);
  }

  onState(fn: (state: LiveState, retryInMs: number) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Called after the socket came back and its subscriptions are confirmed: anything pushed meanwhile was missed, so views reload. */
  onReopen(fn: () => void): () => void {
    this.reopenListeners.add(fn);
    return () => this.reopenListeners.delete(fn);
  }

  private setState(state: LiveState, retryInMs: number): void {
    this.state = state;
    for (const fn of this.stateListeners) fn(state, retryInMs);
  }

  private sync(): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const needed = new Set<string>();
    for (const runs of this.wants.values()) for (const r of runs) needed.add(r);
    const add = [...needed].filter((r) => !this.subscribed.has(r));
    const drop = [...this.subscribed].filter((r) => !needed.has(r));
    if (add.length) socket.send(JSON.stringify({ type: 'subscribe', runs: add }));
    if (drop.length) socket.send(JSON.stringify({ type: 'unsubscribe', runs: drop }));
    for (const r of drop) this.confirmed.delete(r);
    this.subscribed = needed;
  }
}

export const live = new LiveConnection();
