// `npx tsx scripts/latent-screenshots.ts --db FILE [--run NAME|ID] [--epochs 1,3,last] [--out docs/screenshots]`:
// screenshots of a stored run's latent-space panel (t-SNE, as the dashboard computes and draws it) at the given
// validation epochs, for the README. The database is copied first (a server of this script's own reads the copy),
// so a benchmark's or the demo's database is left as it was.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchBrowser, startDashboardServer, until } from '../harness/browser.js';
import { api, ROOT } from '../harness/server.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    run: { type: 'string' },
    epochs: { type: 'string', default: '1,3,last' },
    out: { type: 'string', default: join(ROOT, 'docs', 'screenshots') },
    prefix: { type: 'string', default: 'latent-epoch' },
  },
});
if (values.db === undefined || !existsSync(values.db)) {
  console.error('latent-screenshots: --db FILE (an existing ganwatch SQLite database) is required');
  process.exit(2);
}

const scratch = mkdtempSync(join(tmpdir(), 'ganwatch-shots-'));
const copy = join(scratch, 'copy.db');
cpSync(values.db, copy);
for (const ext of ['-wal', '-shm']) if (existsSync(values.db + ext)) cpSync(values.db + ext, copy + ext);
const server = await startDashboardServer({ dbPath: copy });
const browser = await launchBrowser();
try {
  const runs = (await api<{ runs: Array<{ id: string; name: string }> }>(server, 'GET', '/api/v1/runs')).body.runs;
  const run = values.run === undefined ? runs[0] : runs.find((r) => r.id === values.run || r.name === values.run);
  if (!run) throw new Error(`no run ${values.run ?? ''} in ${values.db} (runs: ${runs.map((r) => r.name).join(', ')})`);
  const stored = (await api<{ epochs: Array<{ epoch: number }> }>(server, 'GET', `/api/v1/runs/${run.id}/latents`)).body
    .epochs;
  const all = stored.map((e) => e.epoch).sort((a, b) => a - b);
  if (all.length === 0) throw new Error(`run ${run.name} has no latent codes`);
  const wanted = values.epochs.split(',').map((e) => (e === 'last' ? all.at(-1)! : Number(e)));
  // t-SNE continues each epoch from the one before: compute them in order, up to the last one shown.
  for (const epoch of all.filter((e) => e <= Math.max(...wanted))) {
    await until(
      async () =>
        (await api(server, 'GET', `/api/v1/runs/${run.id}/projections?epoch=${epoch}&method=tsne`)).status === 200,
      `t-SNE of epoch ${epoch}`,
    );
  }
  const { page } = await browser.open(`${server.url}/#/runs/${run.id}`, { width: 1280, height: 1200 });
  const panel = page.locator('.latent-panel');
  await panel.waitFor();
  await panel.scrollIntoViewIfNeeded();
  mkdirSync(values.out, { recursive: true });
  for (const epoch of wanted) {
    const slider = page.locator('.latent-panel input[type=range]');
    await slider.fill(String(all.indexOf(epoch)));
    await slider.blur(); // no focus ring in the picture
    await until(async () => {
      const s = await page.evaluate(() => window.__ganwatch.latent());
      return s && s.epoch === epoch && s.method === 'tsne' && s.axes && /computed by the server/.test(s.status);
    }, `t-SNE of epoch ${epoch} drawn`);
    await page.waitForTimeout(300); // the chart's draw animation
    const path = resolve(values.out, `${values.prefix}-${epoch}.png`);
    await panel.screenshot({ path });
    console.log(`epoch ${epoch}: ${path}`);
  }
} finally {
  await browser.close();
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
