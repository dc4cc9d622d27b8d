// Conv2DBackpropFilter for the wasm backend, which tfjs-backend-wasm 4.22 lacks (without it, the gradient of
// conv2d with respect to its filter throws on wasm). Built only from kernels wasm has, so it runs in XNNPACK.
//
// For an NHWC conv y = conv(x, w, stride s, pads), with xp the padded input:
//   dW[kh, kw, ci, co] = Σ_{b, oh, ow} xp[b, oh·s + kh, ow·s + kw, ci] · dy[b, oh, ow, co]
// which is a stride-1 conv dilated by s, whose "batch" is ci and whose "channels" are b:
//   input  X' = transpose(x)  → [Cin, H, W, B]     (pads applied by the conv itself)
//   filter F' = transpose(dy) → [OH, OW, B, Cout]
//   conv(X', F', stride 1, dilation s) → [Cin, KH, KW, Cout] → transpose → [KH, KW, Cin, Cout]
import {
  backend_util,
  Conv2DBackpropFilter,
  registerKernel,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { BACKEND, registeredKernel, run, type KernelArgs, type WasmBackendLike } from './wasm-kernel.js';

function pair(v: [number, number] | number): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

function conv2DBackpropFilterWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs['x'];
  const dy = args.inputs['dy'];
  if (x === undefined || dy === undefined) throw new Error('Conv2DBackpropFilter: inputs x and dy are required');
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter (wasm): dataFormat '${attrs.dataFormat}' is not supported; use NHWC`);
  }
  const [kh, kw, cin, cout] = attrs.filterShape;
  const [sh, sw] = pair(attrs.strides);
  const [batch, inH, inW] = x.shape as [number, number, number, number];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  // Only top/left come from the forward padding; bottom/right follow from the rows and columns dy actually covers.
  const { padInfo } = backend_util.computeConv2DInfo(
    [batch, inH, inW, cin],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const spanH = kh + (outH - 1) * sh; // padded-input rows the forward conv read
  const spanW = kw + (outW - 1) * sw;
  const usedH = Math.min(inH, spanH - padInfo.top); // rows of x that reached dy
  const usedW = Math.min(inW, spanW - padInfo.left);
  if (usedH <= 0 || usedW <= 0 || outH === 0 || outW === 0) {
    // dy saw only padding: the filter gradient is zero.
    return run('Fill', {
      inputs: {},
      backend: args.backend,
      attrs: { shape: [kh, kw, cin, cout], value: 0, dtype: 'float32' },
    });
  }

  const temps: TensorInfo[] = [];
  try {
    let xUsed: TensorInfo = x;
    if (usedH < inH || usedW < inW) {
      xUsed = run('Slice', {
        inputs: { x },
        backend: args.backend,
        attrs: { begin: [0, 0, 0, 0], size: [batch, usedH, usedW, cin] },
      });
      temps.push(xUsed);
    }
    const xT = run('Transpose', { inputs: { x: xUsed }, backend: args.backend, attrs: { perm: [3, 1, 2, 0] } });
    temps.push(xT);
    const dyT = run('Transpose', { inputs: { x: dy }, backend: args.backend, attrs: { perm: [1, 2, 0, 3] } });
    temps.push(dyT);
    const pad: backend_util.ExplicitPadding = [
      [0, 0],
      [padInfo.top, spanH - padInfo.top - usedH],
      [padInfo.left, spanW - padInfo.left - usedW],
      [0, 0],
    ];
    const grad = run('Conv2D', {
      inputs: { x: xT, filter: dyT },
      backend: args.backend,
      attrs: { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [sh, sw] },
    });
    temps.push(grad);
    return run('Transpose', { inputs: { x: grad }, backend: args.backend, attrs: { perm: [1, 2, 0, 3] } });
  } finally {
    // Disposing dyT also frees the XNNPACK operator the wasm Conv2D cached for it (keyed by the filter's id).
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

export const conv2DBackpropFilterWasmConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: BACKEND,
  kernelFunc: conv2DBackpropFilterWasm,
};

/** Registers the kernel for the wasm backend; safe to call any number of times. Returns true if it registered now. */
export function registerConv2DBackpropFilterWasm(): boolean {
  if (registeredKernel(Conv2DBackpropFilter) !== undefined) return false;
  registerKernel(conv2DBackpropFilterWasmConfig);
  return true;
}
