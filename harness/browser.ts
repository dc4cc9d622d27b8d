// Test support: Debian's Chromium driven by playwright-core (never a downloaded browser), a fresh profile per launch,
// the dashboard built before use, page errors collected, screenshots into test-artifacts/, and data pushed over HTTP.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { deflateSync } from 'node:zlib';
import { chromium, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { buildWeb } from '../scripts/build-web.js';
import type { ChartSnapshot } from '../web/src/charts/metric-chart.js';
import { ROOT, api, startServer, type RunningServer, type ServerOptions } from './server.js';

export const CHROMIUM_PATH = process.env.GANWATCH_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
];

/** A reason to skip browser tests (no Chromium here), or null. CI installs Debian's `chromium`, so it never skips. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM_PATH)
    ? null
    : `${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium) to run the browser tests`;
}

export interface Browser {
  context: BrowserContext;
  /** A new tab on `url`, with page errors and failed console messages collected into `errors`. */
  open(url: string, viewport?: { width: number; height: number }): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** Emulation of the browser's context: a phone (viewport, isMobile, hasTouch, deviceScaleFactor), a colour scheme. */
export type ContextOptions = Pick<
  BrowserContextOptions,
  'viewport' | 'isMobile' | 'hasTouch' | 'deviceScaleFactor' | 'colorScheme' | 'userAgent'
>;

export async function launchBrowser(options: ContextOptions = {}): Promise<Browser> {
  await buildWeb();
  const profile = mkdtempSync(join(tmpdir(), 'ganwatch-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    ...options,
  });
  return {
    context,
    async open(url, viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text()))
          errors.push(`console: ${msg.text()}`);
      });
      await page.goto(url);
      return { page, errors };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Starts the server after building the dashboard: the server picks web/dist (or, while it is missing, its placeholder page) as it starts. */
export async function startDashboardServer(options: ServerOptions = {}): Promise<RunningServer> {
  await buildWeb();
  return startServer(options);
}

/** What a dashboard spec works with once its `before` has run. */
export interface Dashboard {
  server: RunningServer;
  browser: Browser;
  /** The tab opened on `open()`, and the page errors collected there (unset when `open` was not given). */
  page: Page;
  errors: string[];
}

export interface DashboardSetup {
  /** Options of the server (tokens, ...). */
  server?: ServerOptions;
  /** Puts the spec's data in, once the server runs and before the browser starts. */
  seed?: (server: RunningServer) => Promise<void>;
  /** The path (on the server) of the tab to open, read after `seed`; none: no tab is opened. */
  open?: () => string;
  viewport?: { width: number; height: number };
  /** How the browser is emulated (a phone, a colour scheme); default: a 1280 × 900 desktop window. */
  context?: ContextOptions;
  /** Runs last, with every handle set: the spec keeps the ones it needs, and may prepare the page further. */
  ready?: (ui: Dashboard) => unknown;
}

/**
 * The setup every dashboard spec shares, registered as `before` and `after` of the current suite: a server with the
 * dashboard built, the spec's data, Debian's Chromium, a first tab; closed and stopped afterwards. Does nothing
 * without Chromium (the specs skip themselves then, see browserMissing()).
 */
export function dashboardTests(setup: DashboardSetup = {}): Dashboard {
  const ui = {} as Dashboard;
  before(async () => {
    if (browserMissing()) return;
    ui.server = await startDashboardServer(setup.server);
    await setup.seed?.(ui.server);
    ui.browser = await launchBrowser(setup.context);
    if (setup.open)
      ({ page: ui.page, errors: ui.errors } = await ui.browser.open(ui.server.url + setup.open(), setup.viewport));
    await setup.ready?.(ui);
  });
  after(async () => {
    await ui.browser?.close();
    await ui.server?.stop();
  });
  return ui;
}

export async function screenshot(
  page: Page,
  name: string,
  options: { fullPage?: boolean; selector?: string } = {},
): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  if (options.selector) await page.locator(options.selector).first().screenshot({ path });
  else await page.screenshot({ path, fullPage: options.fullPage ?? false });
  return path;
}

const HANG_GUARD_MS = 60_000;

/** The charts window.__ganwatch reports for the current view. */
export function charts(page: Page): Promise<ChartSnapshot[]> {
  return page.evaluate(() => window.__ganwatch.charts());
}

/**
 * Polls `fn` in Node until it returns a truthy value. There is no speed requirement: a loaded machine renders late, and
 * a test that passes only on a quiet machine is a defect. The only limit is a hang guard of HANG_GUARD_MS.
 */
export async function until<T>(fn: () => Promise<T | null | undefined | false>, what = 'condition'): Promise<T> {
  const end = Date.now() + HANG_GUARD_MS;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Scrolls a chart into view (charts draw only on screen) and returns its snapshot once it has drawn. */
export async function drawnChart(page: Page, key: string): Promise<ChartSnapshot> {
  const card = page.locator(`.chart-card[data-chart="${key}"]`);
  await card.waitFor({ timeout: HANG_GUARD_MS });
  await card.scrollIntoViewIfNeeded();
  return until(
    async () => (await charts(page)).find((c) => c.key === key && c.drawn && !c.loading),
    `chart ${key} to draw`,
  );
}

/**
 * Runs `push` and measures, in the page, how long until chart `key` draws (x, y) (x null: anywhere) in a dataset of
 * one of `roles`: from just before the push to the
 * first animation frame that shows the point.
 */
export async function drawLatency(
  page: Page,
  key: string,
  x: number | null,
  y: number,
  push: () => Promise<void>,
  roles: readonly string[] = ['line'],
): Promise<number> {
  const seen = page.evaluate(([k, px, py, r]) => window.__ganwatch.whenDrawn(k, px, py, r as string[]), [
    key,
    x,
    y,
    [...roles],
  ] as const);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
  const t0 = Date.now();
  await push();
  return (await seen) - t0;
}

export function dataset(
  chart: ChartSnapshot,
  role: string,
  run?: string,
): ChartSnapshot['datasets'][number] | undefined {
  return chart.datasets.find((d) => d.role === role && (run === undefined || d.run === run));
}

// --- data over HTTP --------------------------------------------------------------------------------------------

type Values = Record<string, number | 'NaN' | 'Infinity' | '-Infinity'>;

export async function createRun(server: { url: string }, body: Record<string, unknown>): Promise<string> {
  const res = await api(server, 'POST', '/api/v1/runs', body);
  if (res.status !== 201) throw new Error(`create run: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

export async function pushPoints(
  server: { url: string },
  run: string,
  points: Array<{ step: number; wall?: number; values: Values }>,
): Promise<void> {
  for (let i = 0; i < points.length; i += 10_000) {
    const res = await api(server, 'POST', `/api/v1/runs/${run}/points`, { points: points.slice(i, i + 10_000) });
    if (res.status !== 200) throw new Error(`push points: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/**
 * Pushes `count` points of each metric, generated by `value(metric, step)`, 10,000 points per request (a request
 * carries several metrics per step, so each holds 10,000 / metrics.length steps).
 */
export async function pushSeries(
  server: { url: string },
  run: string,
  metrics: readonly string[],
  count: number,
  value: (metric: string, step: number) => number | 'NaN' | 'Infinity' | '-Infinity',
  wall0 = Math.floor(Date.now() / 1000) - count,
): Promise<void> {
  const stepsPerRequest = Math.max(1, Math.floor(10_000 / metrics.length));
  for (let from = 0; from < count; from += stepsPerRequest) {
    const points = [];
    for (let step = from; step < Math.min(count, from + stepsPerRequest); step++) {
      const values: Values = {};
      for (const m of metrics) values[m] = value(m, step);
      points.push({ step, wall: wall0 + step * 0.5, values });
    }
    await pushPoints(server, run, points);
  }
}

/** A small valid PNG (w × h, one colour per `seed`), made without any image library. */
export function tinyPng(seed: number, w = 48, h = 16): Buffer {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (seed * 53 + x * 4) & 255;
      raw[o + 1] = (seed * 97 + y * 8) & 255;
      raw[o + 2] = (seed * 31 + (x ^ y) * 6) & 255;
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

let crcTable: Uint32Array | null = null;
function crc32(buf: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 255]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export async function pushPng(
  server: { url: string },
  run: string,
  epoch: number,
  step: number,
  png: Buffer,
  meta?: Record<string, unknown>,
): Promise<void> {
  const q = `epoch=${epoch}&step=${step}&kind=samples${meta ? `&meta=${encodeURIComponent(JSON.stringify(meta))}` : ''}`;
  const res = await api(server, 'POST', `/api/v1/runs/${run}/media?${q}`, png);
  if (res.status !== 201) throw new Error(`push media: ${res.status} ${JSON.stringify(res.body)}`);
}
