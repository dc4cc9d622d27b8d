// `npm run bench -- python`: the Python client (clients/python) against a real server: training overhead, the cost
// of log(), throughput and control latency, each next to a baseline measured in the same run (see
// bench/support/python_client.py, which does the measuring). `--quick`: fewer steps (a smoke run of the benchmark itself).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startServer } from '../harness/server.js';

export async function run(args: string[] = []): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ganwatch-bench-python-'));
  const server = await startServer({ dbPath: join(dir, 'bench.db') });
  try {
    const script = join(ROOT, 'bench/support/python_client.py');
    const out = spawnSync('/usr/bin/python3', [script, server.url, ...(args.includes('--quick') ? ['--quick'] : [])], {
      cwd: dir,
      env: { ...process.env, PYTHONPATH: join(ROOT, 'clients/python') },
      stdio: 'inherit',
    });
    if (out.status !== 0) throw new Error(`the Python benchmark failed (exit ${out.status})`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
