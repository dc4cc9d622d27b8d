// Chooses and initialises the tfjs backend the trainer runs on: tfjs-node-gpu, tfjs-node, wasm or pure-JS cpu.
// The two tfjs-node packages download libtensorflow at install time and are often absent, so they are loaded
// by a dynamic import under a name tsc does not resolve; 'auto' keeps the reason each better backend failed.
import { execFileSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { gwError } from '../protocol/errors.js';
import { registerConv2DBackpropFilterWasm } from './kernels/conv2d-backprop-filter.js';
import { registerConv2DBackpropInputWasm } from './kernels/conv2d-backprop-input.js';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** What the math runs on, for logs: e.g. 'wasm (SIMD, 1 thread)', 'cpu (pure JS)', 'NVIDIA T4 (CUDA)'. */
  device: string;
  /** Why each better backend was not used ('auto' only; empty when the first choice loaded), best first. */
  fallbacks: string[];
}

/** Best first: the order 'auto' tries. */
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const INSTALL: Record<BackendName, string> = {
  'tensorflow-gpu':
    'npm install @tensorflow/tfjs-node-gpu@4 (needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1; it downloads libtensorflow 2.9.1 at install time)',
  tensorflow: 'npm install @tensorflow/tfjs-node@4 (it downloads libtensorflow 2.9.1 at install time)',
  wasm: 'npm install @tensorflow/tfjs-backend-wasm@4',
  cpu: 'npm install @tensorflow/tfjs@4',
};

const PACKAGE: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

const require = createRequire(import.meta.url);

/** Raised inside this module when one backend cannot load; carries what the user should do about it. */
class BackendUnavailable extends Error {
  constructor(
    readonly backend: BackendName,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * Makes `preference` the active tfjs backend ('auto': the best that loads) and returns what was chosen.
 * A forced backend that cannot load throws GW_ERR_BACKEND_MISSING naming what to install.
 * Safe to call again, e.g. to switch between wasm and cpu.
 */
export async function initBackend(preference: BackendName | 'auto'): Promise<BackendInfo> {
  if (preference !== 'auto') {
    try {
      return { name: preference, device: await activate(preference), fallbacks: [] };
    } catch (err) {
      if (err instanceof BackendUnavailable) throw gwError('GW_ERR_BACKEND_MISSING', preference, err.reason);
      throw err;
    }
  }
  const fallbacks: string[] = [];
  for (const name of BACKEND_ORDER) {
    try {
      return { name, device: await activate(name), fallbacks };
    } catch (err) {
      if (!(err instanceof BackendUnavailable)) throw err;
      fallbacks.push(`${name}: ${err.reason}`);
    }
  }
  // cpu ships inside @tensorflow/tfjs, so reaching this means the install itself is broken.
  throw gwError('GW_ERR_BACKEND_MISSING', 'cpu', fallbacks.join('; '));
}

async function activate(name: BackendName): Promise<string> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      return activateTensorflow(name);
    case 'wasm':
      return activateWasm();
    case 'cpu':
      await setBackendOrExplain('cpu', 'cpu');
      return 'cpu (pure JS)';
  }
}

async function activateTensorflow(name: 'tensorflow-gpu' | 'tensorflow'): Promise<string> {
  const pkg = PACKAGE[name];
  if (!isInstalled(pkg)) throw new BackendUnavailable(name, `${pkg} is not installed: ${INSTALL[name]}`);
  if (loadedTensorflowPackage !== undefined && loadedTensorflowPackage !== pkg) {
    // Both packages register the same tfjs backend, 'tensorflow': the one loaded first is the one that runs.
    throw new BackendUnavailable(name, `${loadedTensorflowPackage} is already loaded in this process`);
  }
  try {
    // A variable specifier keeps tsc from needing the package's types (it is usually not installed).
    const specifier: string = pkg;
    await import(specifier);
    loadedTensorflowPackage = pkg;
  } catch (err) {
    const hint =
      name === 'tensorflow-gpu'
        ? 'check that the CUDA 11.2 and cuDNN 8.1 libraries are on the library path (LD_LIBRARY_PATH), else reinstall'
        : 'reinstall it';
    throw new BackendUnavailable(
      name,
      `${pkg} is installed but failed to load (${firstLine(err)}); ${hint}: ${INSTALL[name]}`,
    );
  }
  await setBackendOrExplain(name, 'tensorflow');
  if (name === 'tensorflow') return 'tensorflow (libtensorflow on the CPU)';
  const gpu = nvidiaGpuName();
  return gpu === null
    ? 'tensorflow-gpu (no NVIDIA GPU found by nvidia-smi; libtensorflow may run on the CPU)'
    : `${gpu} (CUDA)`;
}

let loadedTensorflowPackage: string | undefined;
let wasmPathsSet = false;

async function activateWasm(): Promise<string> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    throw new BackendUnavailable(
      'wasm',
      `@tensorflow/tfjs-backend-wasm failed to load (${firstLine(err)}): ${INSTALL.wasm}`,
    );
  }
  if (!wasmPathsSet) {
    // Point at the package's own dist/ folder so the .wasm binaries are found even when this code is bundled
    // (emscripten otherwise looks next to the bundled script). Must happen before the first init.
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(dir + path.sep);
    wasmPathsSet = true;
  }
  await keepingProcessListeners(() => setBackendOrExplain('wasm', 'wasm'));
  registerConv2DBackpropFilterWasm();
  registerConv2DBackpropInputWasm();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  return `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})`;
}

/**
 * The wasm module (emscripten) adds process listeners that rethrow every uncaught exception and unhandled
 * rejection, which defeats handlers the trainer installs; removing them restores Node's own behaviour.
 */
async function keepingProcessListeners(fn: () => Promise<void>): Promise<void> {
  const emitter: EventEmitter = process;
  const events = ['uncaughtException', 'unhandledRejection'];
  const before = events.map((e) => new Set(emitter.listeners(e)));
  try {
    await fn();
  } finally {
    events.forEach((e, i) => {
      for (const l of emitter.listeners(e)) {
        if (!before[i]!.has(l)) emitter.removeListener(e, l as (...args: unknown[]) => void);
      }
    });
  }
}

/** tf.setBackend only logs why an init failed; catch that log so the reason can be reported. */
async function setBackendOrExplain(name: BackendName, tfName: string): Promise<void> {
  if (tf.getBackend() === tfName && tf.findBackend(tfName) !== null) return;
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...msg: unknown[]) => {
    warnings.push(msg.map(String).join(' '));
  };
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName);
  } catch (err) {
    warnings.push(firstLine(err));
    ok = false;
  } finally {
    console.warn = warn;
  }
  if (!ok) {
    const why = warnings.map((w) => w.split('\n')[0]).filter((w) => !/^Initialization of backend/.test(w ?? ''));
    throw new BackendUnavailable(
      name,
      `initialisation failed${why.length > 0 ? ` (${why.join('; ')})` : ''}: ${INSTALL[name]}`,
    );
  }
}

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function nvidiaGpuName(): string | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const names = out
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    return names.length === 0 ? null : names.join(', ');
  } catch {
    return null;
  }
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}
