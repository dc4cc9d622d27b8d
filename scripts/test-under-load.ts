// The flakiness check: runs the whole suite (`npm test`) several times in a row while another process keeps one core
// busy, and reports every test that failed in any pass. A test that passes only on a quiet machine is a defect.
//   npm run test:contention                 three passes, one busy core
//   npm run test:contention -- --times 5    five passes
// Each pass's output goes to test-artifacts/contention-N.log; the exit code is 1 when any pass failed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = join(import.meta.dirname, '..');
const ARTIFACTS = join(ROOT, 'test-artifacts');

/** A process that spins one core at full speed until killed. */
function busyCore(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

/** Runs `npm test` once, writing its output to `log`; resolves with the names of the failed tests and the exit code. */
function runSuite(log: string): Promise<{ code: number | null; failed: string[] }> {
  const out = createWriteStream(log);
  const child = spawn('npm', ['test'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const failed: string[] = [];
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out.write(chunk);
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    // Leaf failures only (a failed suite repeats its failed child's name one level up).
    for (const line of lines) {
      const m = /^\s*not ok \d+ - (.*)$/.exec(line);
      if (m && !failed.includes(m[1]!)) failed.push(m[1]!);
    }
  });
  child.stderr.pipe(out, { end: false });
  return new Promise((resolve) =>
    child.once('close', (code) => {
      out.end();
      resolve({ code, failed });
    }),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { times: { type: 'string', default: '3' } } });
  const times = Number(values.times);
  if (!Number.isInteger(times) || times < 1) {
    console.error(`test:contention: --times must be a whole number ≥ 1, not ${values.times}`);
    process.exit(2);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const busy = busyCore();
  let failures = 0;
  try {
    for (let pass = 1; pass <= times; pass++) {
      const log = join(ARTIFACTS, `contention-${pass}.log`);
      const started = Date.now();
      const { code, failed } = await runSuite(log);
      const minutes = ((Date.now() - started) / 60_000).toFixed(1);
      if (code === 0) console.log(`pass ${pass}/${times}: all tests passed in ${minutes} min (${log})`);
      else {
        failures++;
        console.log(`pass ${pass}/${times}: exit ${code} after ${minutes} min (${log}); failed:`);
        for (const name of failed) console.log(`  - ${name}`);
      }
    }
  } finally {
    busy.kill('SIGKILL');
  }
  console.log(
    failures === 0 ? `all ${times} passes green under one busy core` : `${failures} of ${times} passes failed`,
  );
  process.exit(failures === 0 ? 0 : 1);
}

await main();
