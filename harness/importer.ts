// Test support: runs `ganwatch import tensorboard` (bin/ganwatch.js) as a child process with --json, and lets a
// test wait for the reports it prints (a run found, a batch stored, a problem) instead of sleeping.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './server.js';

export interface ImporterResult {
  code: number | null;
  reports: any[];
  stdout: string;
  stderr: string;
}

export class ImporterProcess {
  readonly reports: any[] = [];
  stdout = '';
  stderr = '';
  private waiters: Array<{ match: (r: any) => boolean; resolve: (r: any) => void }> = [];
  private readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) this.take(line);
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  private take(line: string): void {
    if (!line.startsWith('{')) return;
    const report = JSON.parse(line);
    this.reports.push(report);
    this.waiters = this.waiters.filter((w) => (w.match(report) ? (w.resolve(report), false) : true));
  }

  /** Resolves with the first report (already printed or future) that matches; rejects if the process exits first. */
  next(match: (r: any) => boolean, timeoutMs = 60_000): Promise<any> {
    const seen = this.reports.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for a report; got ${JSON.stringify(this.reports)}`)),
        timeoutMs,
      );
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`importer exited (${code}) first: ${this.stderr}`));
      });
      this.waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }

  wait(): Promise<number | null> {
    return this.exited;
  }
}

/** Starts `ganwatch import tensorboard ARGS... --json` in `cwd` (where its default --state folder goes). */
export function startImporter(args: string[], cwd: string, env: Record<string, string> = {}): ImporterProcess {
  const inherited = { ...process.env };
  delete inherited.GANWATCH_TOKEN;
  delete inherited.GANWATCH_SERVER;
  const child = spawn(process.execPath, [join(ROOT, 'bin/ganwatch.js'), 'import', 'tensorboard', ...args], {
    cwd,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ImporterProcess(child);
}

/** Runs an import to its end. */
export async function runImporter(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<ImporterResult> {
  const p = startImporter(args, cwd, env);
  const code = await p.wait();
  return { code, reports: p.reports, stdout: p.stdout, stderr: p.stderr };
}
