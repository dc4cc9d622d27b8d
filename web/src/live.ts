// The live socket (/api/v1/live): one connection for the whole page, subscriptions gathered from the open views,
// reconnection with backoff (re-subscribing, and telling views to reload what they may have missed).
import type { LiveServerFrame } from '../../protocol/index.js';
import { getToken } from './api.js';

export type LiveState = 'connecting' | 'open' | 'reconnecting';
type FrameListener = (frame: LiveServerFrame) => void;

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;

export class LiveConnection {
  private socket: WebSocket | null = null;
  private readonly wants = new Map<string, string[]>();
  private subscribed = new Set<string>();
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
    const socket = new WebSocket(`${proto}//${location.host}/api/v1/live${t ? `?token=${encodeURIComponent(t)}` : ''}`);
    this.socket = socket;
    socket.onopen = () => {
      this.backoff = MIN_BACKOFF_MS;
      this.subscribed = new Set();
      this.sync();
      const reopened = this.everOpened;
      this.everOpened = true;
      this.setState('open', 0);
      if (reopened) this.reopenListeners.forEach((fn) => fn());
    };
    socket.onmessage = (event: MessageEvent<string>) => {
      let frame: LiveServerFrame;
      try {
        frame = JSON.parse(event.data) as LiveServerFrame;
      } catch {
        return;
      }
      for (const fn of this.frameListeners) fn(frame);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
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

  onFrame(fn: FrameListener): () => void {
    this.frameListeners.add(fn);
    return () => this.frameListeners.delete(fn);
  }

  onState(fn: (state: LiveState, retryInMs: number) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Called after the socket came back: anything pushed meanwhile was missed, so views reload. */
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
    this.subscribed = needed;
  }
}

export const live = new LiveConnection();
