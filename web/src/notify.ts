// Opt-in browser notifications for new alerts (Notification API): a toggle that asks for permission on click.
import type { Alert } from '../../protocol/index.js';
import { h } from './dom.js';
import { live } from './live.js';
import { hrefFor } from './router.js';

const KEY = 'ganwatch.notify';
/** An alert frame counts as new if the alert started firing this recently (frames also carry ack/mute updates). */
const FRESH_S = 120;

function wanted(): boolean {
  try {
    return localStorage.getItem(KEY) === '1';
  } catch {
    return false;
  }
}

function remember(on: boolean): void {
  try {
    localStorage.setItem(KEY, on ? '1' : '0');
  } catch {
    /* storage may be disabled */
  }
}

export function notificationToggle(runName: (id: string) => Promise<string>): HTMLElement {
  const supported = typeof Notification !== 'undefined';
  const button = h('button', { type: 'button', class: 'notify-toggle', 'aria-pressed': 'false' });
  const notified = new Set<number>();
  const enabled = (): boolean => supported && wanted() && Notification.permission === 'granted';
  const paint = (): void => {
    const on = enabled();
    button.setAttribute('aria-pressed', String(on));
    button.textContent = on ? 'Alert notifications: on' : 'Notify me of alerts';
    button.title = !supported
      ? 'This browser has no notifications'
      : Notification.permission === 'denied'
        ? 'Notifications are blocked for this site in the browser settings'
        : on
          ? 'Click to stop desktop notifications for new alerts'
          : 'Click to get a desktop notification for every new alert';
    button.disabled = !supported;
    live.want('notifications', on ? ['*'] : []);
  };
  button.addEventListener('click', () => {
    if (!supported) return;
    if (enabled()) {
      remember(false);
      paint();
      return;
    }
    void Notification.requestPermission().then((p) => {
      remember(p === 'granted');
      paint();
    });
  });
  live.onFrame((frame) => {
    if (frame.type !== 'alert' || !enabled()) return;
    const a: Alert = frame.alert;
    if (a.state !== 'firing' || a.muted || notified.has(a.id)) return;
    if (a.firing_at === null || Date.now() / 1000 - a.firing_at > FRESH_S) return;
    notified.add(a.id);
    void runName(a.run).then((name) => {
      const n = new Notification(`${a.severity === 'critical' ? 'CRITICAL: ' : ''}${a.rule} on ${name}`, {
        body: a.message,
        tag: `ganwatch-alert-${a.id}`,
      });
      n.onclick = () => {
        window.focus();
        location.hash = hrefFor({ view: 'run', id: a.run });
        n.close();
      };
    });
  });
  paint();
  return button;
}
