// What the wasm kernels of this folder share: the slice of the wasm backend they use, running another registered
// wasm kernel directly on the backend, and looking a kernel up.
import {
  getKernel,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs';

export const BACKEND = 'wasm';

/** The slice of the wasm backend these kernels need (its full type lives in tfjs-backend-wasm's internals). */
export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

export type KernelArgs = { inputs: NamedTensorInfoMap; backend: object; attrs?: NamedAttrMap };

/** Runs another registered wasm kernel directly on the backend: returns a backend-owned TensorInfo, no engine Tensor. */
export function run(kernelName: string, args: KernelArgs): TensorInfo {
  const out = getKernel(kernelName, BACKEND).kernelFunc(args);
  if (Array.isArray(out)) throw new Error(`${kernelName}: expected one output, got ${out.length}`);
  return out;
}

/** The wasm kernel registered under `kernelName`, or undefined. */
export function registeredKernel(kernelName: string): KernelConfig | undefined {
  // getKernel returns undefined when absent, though its declared type says otherwise.
  return getKernel(kernelName, BACKEND);
}
