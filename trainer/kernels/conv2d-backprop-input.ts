// Conv2DBackpropInput for the wasm backend, replacing tfjs-backend-wasm 4.22's own: a naive loop that took over half
// of every BicycleGAN step (it runs the forward pass of every conv2dTranspose and the input gradient of every conv2d).
// Here the multiplies run in XNNPACK's Conv2D.
//
// For an NHWC conv y = conv(x, w, stride s, top pad p), along one axis:
//   dx[i] = Σ_{o, k : o·s + k = i + p} dy[o] · w[k]
// Output rows i = t·s + a + off (phase a ∈ [0, s), shift off ∈ (−s, 0]) read only the taps k ≡ a + off + p (mod s), at
// dy rows that advance by one per t: a stride-1 conv of the zero-padded dy with those taps flipped. Unlike a conv of
// the zero-dilated dy, no multiply touches an inserted zero. Phases can share one conv, as blocks of its output
// channels (then the filter holds, for phase a and tap l, w[c0 + a − s·l], zero outside the kernel), or each get
// their own (fewer taps where phases are misaligned, but narrower outputs); each 2-D plan is a product of one such
// grouping per axis. The filters are small and rearranged in JS, as is the interleave of the phases into dx (one
// pass over dx that also crops; wasm's DepthToSpace and Slice are 10–20× slower). Stride 1 is one conv with the
// flipped filter, its output being dx itself. Those convs multiply the padding around dy too, which dominates on
// small maps (PatchGAN's stride-1 4×4 convs on 7×7): there "columns" wins, cols = dy · wᵀ as a 1×1 conv (exactly the
// forward conv's multiply-adds), each dy pixel's KH·KW·Cin products then added into dx in JS (col2im). Of these
// plans and wasm's own kernel (kept: it wins when dy is tiny, as it skips padding and repacks no filter, and it
// serves NCHW), the one with the least estimated time runs; the estimates are calibrated on the BicycleGAN shapes.
import {
  backend_util,
  Conv2DBackpropInput,
  registerKernel,
  unregisterKernel,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { BACKEND, registeredKernel, run, type KernelArgs, type WasmBackendLike } from './wasm-kernel.js';

type KernelFunc = (args: KernelArgs) => TensorInfo;

/** Phases of one axis that one stride-1 conv computes (see the header). */
export interface AxisGroup {
  stride: number;
  /** The phase a of each output-channel block, in block order. */
  phases: number[];
  taps: number;
  /** Phase a, tap l reads kernel index c0 + a − stride·l. */
  c0: number;
  /** Conv output rows; row t of phase a is dx row t·stride + a + off (rows outside dx are dropped). */
  rows: number;
  off: number;
  /** dy rows [lo, hi) the conv reads, and the zero rows it pads before and after them. */
  lo: number;
  hi: number;
  padBefore: number;
  padAfter: number;
}

/**
 * The group computing `phases` (with shift `off`) for kernel size k, stride s, forward top padding p, dx size inSize
 * and dy size outSize; null when those dx rows read no dy row (they are zero).
 */
export function axisGroup(
  k: number,
  s: number,
  p: number,
  inSize: number,
  outSize: number,
  phases: number[],
  off: number,
): AxisGroup | null {
  let base = Infinity; // first dy row, relative to t, any phase reads
  let last = -Infinity; // and the last
  let rows = 0;
  for (const a of phases) {
    rows = Math.max(rows, Math.ceil((inSize - a - off) / s));
    const v = a + off + p; // = q·s + r: phase a reads taps r, r + s, … at dy rows t + q, t + q − 1, …
    const q = Math.floor(v / s);
    const r = v - q * s;
    if (r >= k) continue; // no taps
    base = Math.min(base, q - Math.floor((k - 1 - r) / s));
    last = Math.max(last, q);
  }
  if (base === Infinity || rows <= 0) return null;
  const span = last - base + 1;
  const lo = Math.max(0, base);
  const hi = Math.min(outSize, base + rows + span - 1);
  if (hi <= lo) return null;
  // Tap l reads padded rows l … l + rows − 1, of which lo − base … hi − base − 1 are dy: drop taps that see only padding
  // (with a tiny dy, e.g. the innermost 1×1 of the U-Net, most of them).
  const padBefore = lo - base;
  const first = Math.max(0, padBefore - rows + 1);
  const end = Math.min(span, padBefore + hi - lo);
  return {
    stride: s,
    phases,
    taps: end - first,
    c0: off + p - s * (base + first),
    rows,
    off,
    lo,
    hi,
    padBefore: padBefore - first,
    padAfter: base + rows + span - 1 - hi - (span - end),
  };
}

/** Ways to split one axis into groups: all phases in one conv (for each shift) or one conv per phase. */
export function axisPlans(k: number, s: number, p: number, inSize: number, outSize: number): AxisGroup[][] {
  const all = Array.from({ length: s }, (_, a) => a);
  const plans: AxisGroup[][] = [];
  for (let off = 0; off > -s; off--) {
    const g = axisGroup(k, s, p, inSize, outSize, all, off);
    plans.push(g === null ? [] : [g]);
  }
  if (s > 1) {
    plans.push(
      all.flatMap((a) => {
        const g = axisGroup(k, s, p, inSize, outSize, [a], 0);
        return g === null ? [] : [g];
      }),
    );
  }
  return plans;
}

// Measured on XNNPACK's wasm SIMD build (1 thread): creating a conv operator for a fresh filter (plus the JS
// rearrangement) costs about as much as 80 multiply-adds per weight; each call has a fixed overhead; output
// channels are computed in tiles of 8.
const COST_PER_WEIGHT = 80;
const COST_PER_CALL = 2e5;
const CHANNEL_TILE = 8;

/** Estimated time, in multiply-adds, of the convs for groups hs × ws. */
function planCost(hs: AxisGroup[], ws: AxisGroup[], batch: number, cin: number, cout: number): number {
  let cost = 0;
  for (const h of hs) {
    for (const w of ws) {
      const channels = h.phases.length * w.phases.length * cin;
      const taps = h.taps * w.taps * cout;
      cost +=
        COST_PER_CALL +
        COST_PER_WEIGHT * taps * channels +
        batch * h.rows * w.rows * taps * Math.ceil(channels / CHANNEL_TILE) * CHANNEL_TILE;
    }
  }
  return cost;
}

/**
 * The filter [taps_h, taps_w, Cout, blocks·Cin] of the conv for groups (h, w), from w [KH, KW, Cin, Cout]: tap
 * (lh, lw), channel (bh·|w.phases| + bw)·Cin + ci holds w[h.c0 + ah − s_h·lh, w.c0 + aw − s_w·lw, ci, co] (zero outside
 * the kernel), with ah, aw the phases of blocks bh, bw.
 */
function fillPhaseFilter(src: Float32Array, srcShape: number[], h: AxisGroup, w: AxisGroup, out: Float32Array): void {
  const [kh, kw, cin, cout] = srcShape as [number, number, number, number];
  const nw = w.phases.length;
  const outCh = h.phases.length * nw * cin;
  out.fill(0);
  for (let lh = 0; lh < h.taps; lh++) {
    for (let bh = 0; bh < h.phases.length; bh++) {
      const ih = h.c0 + h.phases[bh]! - h.stride * lh;
      if (ih < 0 || ih >= kh) continue;
      for (let lw = 0; lw < w.taps; lw++) {
        for (let bw = 0; bw < nw; bw++) {
          const iw = w.c0 + w.phases[bw]! - w.stride * lw;
          if (iw < 0 || iw >= kw) continue;
          const from = (ih * kw + iw) * cin * cout;
          const to = (lh * w.taps + lw) * cout * outCh + (bh * nw + bw) * cin;
          for (let ci = 0; ci < cin; ci++) {
            const s = from + ci * cout;
            const d = to + ci;
            for (let co = 0; co < cout; co++) out[d + co * outCh] = src[s + co]!;
          }
        }
      }
    }
  }
}

/** Copies conv output y [B, h.rows, w.rows, blocks·Cin] to its places in dx [B, inH, inW, Cin], dropping overhang. */
function scatterPhases(
  y: Float32Array,
  dx: Float32Array,
  h: AxisGroup,
  w: AxisGroup,
  batch: number,
  inH: number,
  inW: number,
  cin: number,
): void {
  const nw = w.phases.length;
  const pixel = h.phases.length * nw * cin;
  for (let bh = 0; bh < h.phases.length; bh++) {
    const rowOff = h.phases[bh]! + h.off;
    for (let bw = 0; bw < nw; bw++) {
      const colOff = w.phases[bw]! + w.off;
      const tFirst = Math.max(0, Math.ceil(-colOff / w.stride));
      const tEnd = Math.min(w.rows, Math.ceil((inW - colOff) / w.stride));
      const block = (bh * nw + bw) * cin;
      for (let b = 0; b < batch; b++) {
        for (let t = 0; t < h.rows; t++) {
          const i = t * h.stride + rowOff;
          if (i < 0 || i >= inH) continue;
          const from = (b * h.rows + t) * w.rows * pixel + block;
          const to = (b * inH + i) * inW * cin;
          for (let u = tFirst; u < tEnd; u++) {
            const s = from + u * pixel;
            const d = to + (u * w.stride + colOff) * cin;
            for (let c = 0; c < cin; c++) dx[d + c] = y[s + c]!;
          }
        }
      }
    }
  }
}

/** Whether groups cover every phase of their axis (else the rest of dx must be zero-filled). */
function coversAll(groups: AxisGroup[], s: number): boolean {
  return groups.reduce((n, g) => n + g.phases.length, 0) === s;
}

/** How one Conv2DBackpropInput call is computed. */
export type BackpropInputPlan =
  | { kind: 'zero' } // every dx entry sat where the conv read only padding, or was never read
  | { kind: 'original'; cost: number } // wasm's own kernel: cheaper for tiny dy (few pixels per weight)
  | { kind: 'phases'; rows: AxisGroup[]; cols: AxisGroup[]; cost: number } // one conv per (row group, col group)
  | { kind: 'columns'; cost: number }; // dy · wᵀ as a 1×1 conv, each dy pixel's K·K·Cin products then added into dx

// wasm's own kernel, per multiply-add it does (it skips padding), in the same units as planCost.
const ORIGINAL_COST_PER_MAC = 6;
// Adding one product column into dx, in JS.
const COST_PER_COLUMN_ADD = 35;

/** (dy row, tap) pairs that land inside dx along one axis: the multiply-adds wasm's own kernel does per row. */
function realPairs(k: number, s: number, p: number, inSize: number, outSize: number): number {
  let n = 0;
  for (let o = 0; o < outSize; o++) n += Math.max(0, Math.min(k, inSize + p - o * s) - Math.max(0, p - o * s));
  return n;
}

/**
 * Every way this kernel can compute dx [B, H, W, Cin] = Conv2DBackpropInput(dy, filter [KH, KW, Cin, Cout]) for an
 * NHWC conv with these strides and padding (the conv's own arguments), each with its estimated cost; just
 * [{ kind: 'zero' }] when dx is zero whatever dy is.
 */
export function candidatePlans(
  inputShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: Conv2DBackpropInputAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): BackpropInputPlan[] {
  const [batch, inH, inW, cin] = inputShape;
  const [kh, kw, , cout] = filterShape;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { strideHeight: sh, strideWidth: sw, outHeight: outH, outWidth: outW } = info;
  const { top, left } = info.padInfo;
  const plans: BackpropInputPlan[] = [
    {
      kind: 'original',
      cost:
        ORIGINAL_COST_PER_MAC *
        batch *
        cin *
        cout *
        realPairs(kh, sh, top, inH, outH) *
        realPairs(kw, sw, left, inW, outW),
    },
  ];
  const columns = kh * kw * cin;
  plans.push({
    kind: 'columns',
    cost:
      COST_PER_CALL +
      COST_PER_WEIGHT * columns * cout +
      batch * outH * outW * (cout * Math.ceil(columns / CHANNEL_TILE) * CHANNEL_TILE + COST_PER_COLUMN_ADD * columns),
  });
  for (const rows of axisPlans(kh, sh, top, inH, outH)) {
    for (const cols of axisPlans(kw, sw, left, inW, outW)) {
      // Each grouping computes all of dx, so one that needs no conv means dx is zero.
      if (rows.length === 0 || cols.length === 0) return [{ kind: 'zero' }];
      plans.push({ kind: 'phases', rows, cols, cost: planCost(rows, cols, batch, cin, cout) });
    }
  }
  return plans;
}

export type PlanChooser = (plans: BackpropInputPlan[]) => BackpropInputPlan;

const cheapest: PlanChooser = (plans) =>
  plans.reduce((best, p) => (p.kind === 'zero' || (best.kind !== 'zero' && p.cost < best.cost) ? p : best));

let choose: PlanChooser = cheapest;

/** The plan the kernel runs for these arguments (see candidatePlans). */
export function planConv2DBackpropInput(...args: Parameters<typeof candidatePlans>): BackpropInputPlan {
  return choose(candidatePlans(...args));
}

/** Overrides how the kernel picks among candidatePlans (tests run every plan); null restores the cheapest. */
export function setPlanChooser(chooser: PlanChooser | null): void {
  choose = chooser ?? cheapest;
}

let original: KernelConfig | undefined;

function conv2DBackpropInputWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const dy = args.inputs['dy'];
  const filter = args.inputs['filter'];
  if (dy === undefined || filter === undefined)
    throw new Error('Conv2DBackpropInput: inputs dy and filter are required');
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const xShape = attrs.inputShape;
  // NCHW (the original kernel handles it with strides) and empty tensors go to the original.
  if (
    attrs.dataFormat !== 'NHWC' ||
    dy.dtype !== 'float32' ||
    filter.dtype !== 'float32' ||
    xShape.some((d) => d === 0)
  ) {
    return fallback(args);
  }
  const [batch, inH, inW, cin] = xShape;
  const fShape = filter.shape as [number, number, number, number];
  const cout = fShape[3];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  const plan = planConv2DBackpropInput(xShape, fShape, attrs.strides, attrs.pad, attrs.dimRoundingMode);
  if (plan.kind === 'original') return fallback(args);
  if (plan.kind === 'zero') {
    return run('Fill', {
      inputs: {},
      backend: args.backend,
      attrs: { shape: [batch, inH, inW, cin], value: 0, dtype: 'float32' },
    });
  }
  if (plan.kind === 'columns') return byColumns(args, dy, filter, xShape);
  const { rows: hs, cols: ws } = plan;
  const [sh, sw] = [hs[0]!.stride, ws[0]!.stride];

  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo) => {
    temps.push(t);
    return t;
  };
  try {
    const parts: Array<{ h: AxisGroup; w: AxisGroup; y: TensorInfo }> = [];
    for (const h of hs) {
      for (const w of ws) {
        // Take heap views right after allocating: a later allocation can grow (and detach) the heap.
        const pf = keep(backend.makeOutput([h.taps, w.taps, cout, h.phases.length * w.phases.length * cin], 'float32'));
        fillPhaseFilter(backend.typedArrayFromHeap(filter), filter.shape, h, w, backend.typedArrayFromHeap(pf));
        let src: TensorInfo = dy;
        if (h.lo > 0 || w.lo > 0 || h.hi < outH || w.hi < outW) {
          src = keep(
            run('Slice', {
              inputs: { x: dy },
              backend: args.backend,
              attrs: { begin: [0, h.lo, w.lo, 0], size: [batch, h.hi - h.lo, w.hi - w.lo, cout] },
            }),
          );
        }
        const pad: backend_util.ExplicitPadding = [
          [0, 0],
          [h.padBefore, h.padAfter],
          [w.padBefore, w.padAfter],
          [0, 0],
        ];
        const y = keep(
          run('Conv2D', {
            inputs: { x: src, filter: pf },
            backend: args.backend,
            attrs: { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] },
          }),
        );
        parts.push({ h, w, y });
      }
    }
    const only = parts.length === 1 ? parts[0]! : undefined;
    if (
      only &&
      only.h.stride === 1 &&
      only.w.stride === 1 &&
      only.h.off === 0 &&
      only.w.off === 0 &&
      only.h.rows === inH &&
      only.w.rows === inW
    ) {
      temps.splice(temps.indexOf(only.y), 1); // the conv output is dx
      return only.y;
    }
    const dx = backend.makeOutput([batch, inH, inW, cin], 'float32');
    const dxValues = backend.typedArrayFromHeap(dx);
    if (!coversAll(hs, sh) || !coversAll(ws, sw)) dxValues.fill(0);
    for (const { h, w, y } of parts) scatterPhases(backend.typedArrayFromHeap(y), dxValues, h, w, batch, inH, inW, cin);
    return dx;
  } finally {
    // Disposing a filter also frees the XNNPACK operator the wasm Conv2D cached for it (keyed by the filter's id).
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/**
 * dx by columns: cols [B, OH, OW, KH·KW·Cin] = dy · wᵀ (a 1×1 conv), then dx[b, oh·s + kh − p, ow·s + kw − p, :] +=
 * cols[b, oh, ow, kh, kw, :]. Exactly the forward conv's multiply-adds, whatever the stride or padding.
 */
function byColumns(
  args: KernelArgs,
  dy: TensorInfo,
  filter: TensorInfo,
  xShape: [number, number, number, number],
): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const [batch, inH, inW, cin] = xShape;
  const [kh, kw, , cout] = filter.shape as [number, number, number, number];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(
    xShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const columns = kh * kw * cin;

  const temps: TensorInfo[] = [];
  try {
    // wᵀ: [KH·KW·Cin, Cout] → [1, 1, Cout, KH·KW·Cin]. Heap views are taken right after allocating (see above).
    const wt = backend.makeOutput([1, 1, cout, columns], 'float32');
    temps.push(wt);
    const w = backend.typedArrayFromHeap(filter);
    const t = backend.typedArrayFromHeap(wt);
    for (let r = 0; r < columns; r++) for (let co = 0; co < cout; co++) t[co * columns + r] = w[r * cout + co]!;
    const cols = run('Conv2D', {
      inputs: { x: dy, filter: wt },
      backend: args.backend,
      attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] },
    });
    temps.push(cols);
    const dx = backend.makeOutput([batch, inH, inW, cin], 'float32');
    const out = backend.typedArrayFromHeap(dx);
    const c = backend.typedArrayFromHeap(cols);
    out.fill(0);
    for (let b = 0; b < batch; b++) {
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          const pixel = ((b * outH + oh) * outW + ow) * columns;
          for (let i = 0; i < kh; i++) {
            const ih = oh * sh + i - top;
            if (ih < 0 || ih >= inH) continue;
            for (let j = 0; j < kw; j++) {
              const iw = ow * sw + j - left;
              if (iw < 0 || iw >= inW) continue;
              const from = pixel + (i * kw + j) * cin;
              const to = ((b * inH + ih) * inW + iw) * cin;
              for (let ci = 0; ci < cin; ci++) out[to + ci] = out[to + ci]! + c[from + ci]!;
            }
          }
        }
      }
    }
    return dx;
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

function fallback(args: KernelArgs): TensorInfo {
  if (original === undefined) throw new Error('Conv2DBackpropInput (wasm): the original kernel is not available');
  return (original.kernelFunc as unknown as KernelFunc)(args);
}

/**
 * Replaces wasm's Conv2DBackpropInput with this one (keeping the original for NCHW and empty tensors); safe to
 * call any number of times. Returns true if it registered now. Call after the wasm backend is imported.
 */
export function registerConv2DBackpropInputWasm(): boolean {
  const cur = registeredKernel(Conv2DBackpropInput);
  if (cur?.kernelFunc === (conv2DBackpropInputWasm as unknown)) return false;
  if (cur !== undefined) {
    original = cur;
    unregisterKernel(Conv2DBackpropInput, BACKEND);
  }
  registerKernel({
    kernelName: Conv2DBackpropInput,
    backendName: BACKEND,
    // The original's setup binds its wasm function; keep it so a re-initialised backend can still fall back.
    ...(original?.setupFunc ? { setupFunc: original.setupFunc } : {}),
    kernelFunc: conv2DBackpropInputWasm,
  });
  return true;
}

/** Puts wasm's own Conv2DBackpropInput back (for comparisons). Returns true if it was replaced until now. */
export function restoreOriginalConv2DBackpropInputWasm(): boolean {
  const cur = registeredKernel(Conv2DBackpropInput);
  if (cur?.kernelFunc !== (conv2DBackpropInputWasm as unknown) || original === undefined) return false;
  unregisterKernel(Conv2DBackpropInput, BACKEND);
  registerKernel(original);
  return true;
}
