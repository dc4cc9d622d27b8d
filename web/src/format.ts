// Number, time and value formatting shared by every view.
import { decodeValue, type WireValue } from '../../protocol/wire.js';

/** A metric value for humans: 4 significant digits, exponent for very large or small magnitudes. */
export function fmtValue(v: number | WireValue | null | undefined): string {
  if (v === null || v === undefined) return '–';
  const x = typeof v === 'number' ? v : decodeValue(v);
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '−Inf';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(3).replace('e+', 'e');
  return String(Number(x.toPrecision(4)));
}

/** Steps compactly: 950, 12.5k, 1.2M. */
export function fmtStep(step: number): string {
  const a = Math.abs(step);
  if (a >= 1e6) return `${Number((step / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((step / 1e3).toPrecision(3))}k`;
  return String(Math.round(step));
}

/** A duration in seconds as 45s, 12m, 3h 20m, 2d 4h. */
export function fmtDuration(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`.replace(/ 0s$/, '');
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`.replace(/ 0m$/, '');
  return `${Math.floor(s / 86400)}d ${Math.round((s % 86400) / 3600)}h`.replace(/ 0h$/, '');
}

/** How long ago a Unix time (seconds) was. */
export function fmtAge(unixSeconds: number, now = Date.now() / 1000): string {
  return `${fmtDuration(now - unixSeconds)} ago`;
}

// Formatters made once: Date's toLocale*String builds a new one on every call (about a millisecond each in
// Chromium), which a table of runs pays per row.
let clockFormat: Intl.DateTimeFormat | undefined;
let dayFormat: Intl.DateTimeFormat | undefined;
let dateTimeFormat: Intl.DateTimeFormat | undefined;

/** Wall-clock time (seconds since the epoch) as local time; the date is added when it is not today. */
export function fmtClock(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  clockFormat ??= new Intl.DateTimeFormat(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
  const time = clockFormat.format(d);
  if (d.toDateString() === new Date().toDateString()) return time;
  dayFormat ??= new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'numeric', day: 'numeric' });
  return `${dayFormat.format(d)} ${time}`;
}

/** Date and time as Date's toLocaleString() writes them. */
export function fmtDate(unixSeconds: number): string {
  dateTimeFormat ??= new Intl.DateTimeFormat(undefined, {
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return dateTimeFormat.format(new Date(unixSeconds * 1000));
}

/** Any JSON value in a table cell. */
export function fmtAny(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return fmtValue(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(v);
}
