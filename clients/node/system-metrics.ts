// System metrics of a training process, sampled on a timer between training steps (never inside one): this process's
// CPU use and resident memory, and each GPU's utilization, memory and temperature as nvidia-smi reports them (run
// asynchronously; without nvidia-smi, no GPU metrics and no error). Also the machine description a new run records.
import { execFile } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { METRIC, SYS_GPU_METRIC, gpuMetric, type RunSystem } from '../../protocol/index.js';

export const DEFAULT_SYSTEM_INTERVAL_MS = 10_000;
// A hung driver must not leave a child process behind every interval.
const NVIDIA_SMI_TIMEOUT_MS = 5_000;
const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,name,utilization.gpu,memory.used,temperature.gpu',
  '--format=csv,noheader,nounits',
];
const MIB = 1024 * 1024;

/** One GPU as nvidia-smi reports it; a value it does not have ("[N/A]", "[Not Supported]") is null. */
export interface GpuSample {
  index: number;
  name: string;
  util: number | null;
  memMb: number | null;
  tempC: number | null;
}

function reading(text: string | undefined): number | null {
  const v = Number(text);
  return text === undefined || text.trim() === '' || !Number.isFinite(v) ? null : v;
}

/** The GPUs in nvidia-smi's `index, name, util, mem, temp` CSV lines (a name may itself hold commas). */
export function parseNvidiaSmi(text: string): GpuSample[] {
  const gpus: GpuSample[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < 5) continue;
    const index = Number(cells[0]);
    if (!Number.isInteger(index) || index < 0) continue;
    const [util, memMb, tempC] = cells.slice(-3).map(reading) as [number | null, number | null, number | null];
    gpus.push({ index, name: cells.slice(1, -3).join(', ').slice(0, 200), util, memMb, tempC });
  }
  return gpus;
}

/** What nvidia-smi on PATH reports now; null when it is absent or fails. Never blocks the event loop. */
export function queryGpus(): Promise<GpuSample[] | null> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', NVIDIA_SMI_ARGS, { timeout: NVIDIA_SMI_TIMEOUT_MS, windowsHide: true }, (err, stdout) =>
      resolve(err ? null : parseNvidiaSmi(stdout)),
    );
  });
}

/**
 * The machine, for the run's `system` document. `probeGpus`: ask nvidia-smi for the GPU names (`gpus` is then [] when
 * it is absent); otherwise `gpus` is left out.
 */
export async function describeSystem(probeGpus: boolean): Promise<RunSystem> {
  const cpu = os.cpus()[0]?.model.trim();
  const system: RunSystem = {
    ...(cpu ? { cpu: cpu.slice(0, 200) } : {}),
    cores: Math.max(1, os.availableParallelism()),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`.slice(0, 200),
  };
  if (probeGpus) system.gpus = ((await queryGpus()) ?? []).map((g) => g.name);
  return system;
}

/** Whether system metrics are on when connect() is not told: yes, unless $GANWATCH_SYSTEM_METRICS is 0/false/off/no. */
export function systemMetricsDefault(env: NodeJS.ProcessEnv = process.env): boolean {
  return !/^(0|false|off|no)$/i.test((env.GANWATCH_SYSTEM_METRICS ?? '').trim());
}

/** The metric values of one sample: CPU and memory of this process, then every GPU's (exported for the benchmark). */
export function sampleValues(cpuPercent: number, gpus: readonly GpuSample[]): Record<string, number> {
  const values: Record<string, number> = {
    [METRIC.sysCpuPercent]: cpuPercent,
    [METRIC.sysRssMb]: process.memoryUsage.rss() / MIB,
  };
  for (const g of gpus) {
    if (g.util !== null) values[gpuMetric(SYS_GPU_METRIC.util, g.index)] = g.util;
    if (g.memMb !== null) values[gpuMetric(SYS_GPU_METRIC.memMb, g.index)] = g.memMb;
    if (g.tempC !== null) values[gpuMetric(SYS_GPU_METRIC.tempC, g.index)] = g.tempC;
  }
  return values;
}

/**
 * Samples every `intervalMs` and hands the values to `emit`. CPU % is this process's CPU time (user + system, every
 * thread) over the wall time since the previous sample: 100 = one core busy, as top shows it. The timer is unref'd
 * (it never keeps a finished script alive) and a sample still waiting for nvidia-smi is dropped by stop().
 */
export class SystemSampler {
  private readonly timer: NodeJS.Timeout;
  private cpu = process.cpuUsage();
  private at = performance.now();
  private gpusPresent = true;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly emit: (values: Record<string, number>) => void,
    intervalMs: number = DEFAULT_SYSTEM_INTERVAL_MS,
  ) {
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async sample(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const cpu = process.cpuUsage();
      const at = performance.now();
      const usedMs = (cpu.user - this.cpu.user + cpu.system - this.cpu.system) / 1000;
      const percent = at > this.at ? (usedMs / (at - this.at)) * 100 : 0;
      [this.cpu, this.at] = [cpu, at];
      // Once absent or failing, nvidia-smi is not asked again: a driver rarely appears or recovers mid-run, and a hung
      // one would cost a 5 s child process every interval.
      const gpus = this.gpusPresent ? await queryGpus() : null;
      if (gpus === null) this.gpusPresent = false;
      if (!this.stopped) this.emit(sampleValues(percent, gpus ?? []));
    } finally {
      this.busy = false;
    }
  }
}
