// Builds the dashboard (web/src → web/dist) with esbuild; skips the work when the bundle is newer than every source.
// `tsx scripts/build-web.ts [--force] [--dev]`; also imported by tests and benchmarks as buildWeb().
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SRC = join(ROOT, 'web/src');
const DIST = join(ROOT, 'web/dist');
/** Written last: the server serves web/dist only once this file exists, so a half-written build is never served. */
const INDEX = join(DIST, 'index.html');

export interface WebBuildResult {
  skipped: boolean;
  ms: number;
  /** Minified bytes and gzipped bytes of the script and stylesheet. */
  js: { bytes: number; gzip: number };
  css: { bytes: number; gzip: number };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function sizes(path: string): { bytes: number; gzip: number } {
  if (!existsSync(path)) return { bytes: 0, gzip: 0 };
  const data = readFileSync(path);
  return { bytes: data.length, gzip: gzipSync(data, { level: 9 }).length };
}

function upToDate(): boolean {
  if (!existsSync(INDEX)) return false;
  const built = statSync(INDEX).mtimeMs;
  const inputs = [
    newestMtime(SRC),
    newestMtime(join(ROOT, 'protocol')),
    statSync(fileURLToPath(import.meta.url)).mtimeMs,
  ];
  const chart = join(ROOT, 'node_modules/chart.js/package.json');
  if (existsSync(chart)) inputs.push(statSync(chart).mtimeMs);
  return inputs.every((t) => t <= built);
}

export interface WebBuildOptions {
  force?: boolean;
  dev?: boolean;
  /** Another copy of web/src to build (e.g. a test's, with a chart group added); always built. */
  src?: string;
  /** Where the bundle goes (default web/dist). */
  outdir?: string;
}

export async function buildWeb(options: WebBuildOptions = {}): Promise<WebBuildResult> {
  const t0 = performance.now();
  const src = options.src ?? SRC;
  const dist = options.outdir ?? DIST;
  const result = (skipped: boolean): WebBuildResult => ({
    skipped,
    ms: performance.now() - t0,
    js: sizes(join(dist, 'app.js')),
    css: sizes(join(dist, 'app.css')),
  });
  const custom = options.src !== undefined || options.outdir !== undefined;
  if (!options.force && !options.dev && !custom && upToDate()) return result(true);
  mkdirSync(dist, { recursive: true });
  await build({
    entryPoints: { app: join(src, 'main.ts') },
    outdir: dist,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: !options.dev,
    sourcemap: 'linked',
    legalComments: 'none',
    // chart.js checks this to drop its development warnings.
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const index = join(dist, 'index.html');
  copyFileSync(join(src, 'index.html'), index + '.tmp');
  renameSync(index + '.tmp', index);
  return result(false);
}

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const force = process.argv.includes('--force');
  const dev = process.argv.includes('--dev');
  buildWeb({ force, dev })
    .then((r) => {
      const what = r.skipped ? 'web/dist is up to date' : `built web/dist in ${r.ms.toFixed(0)} ms`;
      console.log(
        `${what}: app.js ${kb(r.js.bytes)} (${kb(r.js.gzip)} gzipped), app.css ${kb(r.css.bytes)} (${kb(r.css.gzip)} gzipped)`,
      );
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
