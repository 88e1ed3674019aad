/**
 * Kernel overrides that make training practical on the TensorFlow.js WebAssembly backend.
 *
 * Why: in tfjs-backend-wasm 4.22 only an untransposed, unbatched matrix multiply reaches
 * XNNPACK's fast GEMM; any transposeA/transposeB (which every dense layer's backward pass uses)
 * or batched product falls back to a naive loop about 10x slower. Conv2DBackpropInput and
 * MaxPoolGrad are naive loops too, and Conv2DBackpropFilter does not exist at all, so a CNN
 * cannot train. The overrides below re-express those kernels with the backend's own fast
 * kernels (Transpose + plain BatchMatMul, Conv2D), or as JavaScript loops over the WebAssembly
 * heap (the pattern the backend itself uses for Slice and Concat) where a plain loop beats the
 * backend: MaxPoolGrad, Tile, Sum/Mean over leading axes, Slice (which copied its whole input),
 * and Identity/Cast (which copied where sharing the immutable data is enough).
 *
 * selectBackend (backend.ts) registers them whenever it activates the wasm backend.
 *
 * Longer than 400 lines on purpose: eleven self-contained overrides that share the heap helpers
 * at the top and one registration table at the bottom; wasmKernels.test.ts checks each against
 * the cpu backend and proves it is the kernel that runs.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const BACKEND = 'wasm';

/**
 * Below this many multiply-adds per matrix, a batched product stays on the backend's own loop:
 * copying each matrix out and back costs more than the faster GEMM saves (measured crossover
 * between 40^3 and 48^3; at 200x300x200 the per-matrix GEMM is 10x faster).
 */
const MIN_WORK_PER_BATCH_MATRIX = 48 * 48 * 48;

/**
 * Marks our kernel functions with the kernel they replaced, so registering twice (even from a
 * second copy of this module) never wraps our own override.
 */
const REPLACED = Symbol.for('digit-studio.wasmKernels.replaced');
type MarkedKernelFunc = KernelFunc & { [REPLACED]?: KernelConfig | null };

interface WasmKernelArgs {
  inputs: Record<string, TensorInfo>; // tfjs passes every input the kernel declares
  backend: BackendWasm;
  attrs: NamedAttrMap;
}
type WasmKernel = (args: WasmKernelArgs) => TensorInfo | TensorInfo[];

/** The backend's kernels we replaced, by kernel name (null: the backend had none). */
const replaced = new Map<string, KernelConfig | null>();

/** Calls the backend's own implementation of a kernel (the replaced one if we overrode it). */
function callWasm(name: string, backend: BackendWasm, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
  const config = replaced.has(name) ? replaced.get(name) : tf.getKernel(name, BACKEND);
  if (!config) throw new Error(`wasmKernels.ts: the wasm backend has no '${name}' kernel to build on`);
  const result = config.kernelFunc({ inputs, backend, attrs });
  return Array.isArray(result) ? result[0] : result;
}

function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** The same data under another shape, without touching its reference count (never release it). */
function alias(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, dtype: info.dtype, shape };
}

/** Dtypes whose data the wasm backend keeps as a plain typed array on its heap. */
const HEAP_DTYPES: readonly string[] = ['float32', 'int32', 'bool'];

function floats(backend: BackendWasm, info: TensorInfo): Float32Array {
  // Views die when the heap grows, so take them only after the last allocation.
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** Side of the square tiles swapLastTwo copies: 32 rows of a tile's source and target stay in L1. */
const TRANSPOSE_TILE = 32;

/**
 * x3 [batch, rows, cols] -> [batch, cols, rows], in tiles on the heap: about 3x faster than the
 * backend's Transpose on a 3136x256 dense kernel (3.5 ms there).
 */
function swapLastTwo(backend: BackendWasm, x3: TensorInfo): TensorInfo {
  const [batch, rows, cols] = x3.shape;
  const out = backend.makeOutput([batch, cols, rows], 'float32');
  const src = floats(backend, x3);
  const dst = floats(backend, out);
  for (let b = 0; b < batch; b++) {
    const base = b * rows * cols;
    for (let r0 = 0; r0 < rows; r0 += TRANSPOSE_TILE) {
      const r1 = Math.min(rows, r0 + TRANSPOSE_TILE);
      for (let c0 = 0; c0 < cols; c0 += TRANSPOSE_TILE) {
        const c1 = Math.min(cols, c0 + TRANSPOSE_TILE);
        for (let c = c0; c < c1; c++) {
          const to = base + c * rows;
          for (let r = r0; r < r1; r++) dst[to + r] = src[base + r * cols + c];
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Matrix multiply

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * BatchMatMul / _FusedMatMul for a: [...batch, M, K] (or [..., K, M] with transposeA) and
 * b: [...batch, K, N] (or [..., N, K] with transposeB) -> [...batch, M, N], float32.
 * Operands are transposed explicitly and batches folded or split so that every product the
 * backend computes is an untransposed single matrix, the one case XNNPACK handles.
 */
function matMul(kernel: 'BatchMatMul' | '_FusedMatMul', args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs as unknown as MatMulAttrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
    return callWasm(kernel, backend, inputs, attrs); // let the backend report what it does not support
  }
  const rank = (x: TensorInfo) => x.shape.length;
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(batchShapeA);
  const batchB = tf.util.sizeFromShape(batchShapeB);
  const outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB);
  const m = transposeA ? a.shape[rank(a) - 1] : a.shape[rank(a) - 2];
  const k = transposeA ? a.shape[rank(a) - 2] : a.shape[rank(a) - 1];
  const kB = transposeB ? b.shape[rank(b) - 1] : b.shape[rank(b) - 2];
  const n = transposeB ? b.shape[rank(b) - 2] : b.shape[rank(b) - 1];
  if (k !== kB) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kB}) of tensors with shapes ${a.shape} and ${b.shape} ` +
        `and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const sameBatch = batchA === batchB;
  const foldable = batchB === 1; // a's batches can be stacked into one tall matrix
  const splittable = sameBatch || batchA === 1; // one product per batch, a shared or not
  if (!foldable && !(splittable && kernel === 'BatchMatMul')) {
    // General broadcasting between batch shapes, or a fused product over batches: rare; leave it.
    return callWasm(kernel, backend, inputs, attrs);
  }
  if (!foldable && sameBatch && m * n * k < MIN_WORK_PER_BATCH_MATRIX) {
    return callWasm(kernel, backend, inputs, attrs);
  }

  if (kernel === 'BatchMatMul' && batchA === 1 && batchB === 1) {
    const swapped = swappedMatMul(backend, a, b, m, k, n, transposeA, transposeB);
    if (swapped) {
      swapped.shape = [...outBatchShape, m, n];
      return swapped;
    }
  }
  if (!transposeB) usedAsRightOperand.add(b.dataId);

  const a3 = alias(a, transposeA ? [batchA, k, m] : [batchA, m, k]);
  const b3 = alias(b, transposeB ? [batchB, n, k] : [batchB, k, n]);
  const plainA = transposeA ? swapLastTwo(backend, a3) : a3;
  const plainB = transposeB ? swapLastTwo(backend, b3) : b3;
  const plainAttrs = { ...attrs, transposeA: false, transposeB: false };
  let out: TensorInfo;
  if (foldable) {
    const product = callWasm(kernel, backend, { ...inputs, a: alias(plainA, [1, batchA * m, k]), b: plainB }, plainAttrs);
    out = alias(product, [...outBatchShape, m, n]);
  } else {
    out = perBatchMatMul(backend, plainA, plainB, batchA, batchB, m, k, n);
    out.shape = [...outBatchShape, m, n];
  }
  if (plainA !== a3) release(backend, plainA);
  if (plainB !== b3) release(backend, plainB);
  return out;
}

/**
 * Data already seen as the right-hand operand of a product. XNNPACK packs that operand (a few ns
 * a float) and the backend keeps the packed copy for as long as the data lives, so a matrix used
 * a second time (weights during evaluation or prediction) is likely to be used again: from then
 * on it is packed once and multiplied as it is. In training each step's weights are new data.
 */
const usedAsRightOperand = new WeakSet<object>();

/** Cost, in float copies, of XNNPACK packing one float of a product's right-hand operand (measured ~1.8 transposes). */
const PACK_COST = 2;

/**
 * a [M, K] (or [K, M] with transposeA) times b [K, N] (or [N, K] with transposeB) as
 * (b^T a^T)^T, when that costs fewer copies: the backend packs the right-hand operand of every
 * product anew whenever its data is new, so a weight matrix that changes every training step is
 * packed every step. A dense layer's kernel W [3136, 256] in cnn, batch 50: dy W^T cost 8.8 ms
 * (transpose W, pack W^T) and takes 3.9 ms as (W dy^T)^T; x W 7.9 ms, 5.6 ms swapped.
 * Returns null when the product as asked is cheaper, or b was seen before (usedAsRightOperand).
 */
function swappedMatMul(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo | null {
  if (!transposeB && usedAsRightOperand.has(b.dataId)) return null;
  const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + PACK_COST * k * n;
  const swapped = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + PACK_COST * m * k + m * n;
  if (swapped >= direct) return null;
  if (!transposeB) usedAsRightOperand.add(b.dataId);
  const bT = transposeB ? alias(b, [1, n, k]) : swapLastTwo(backend, alias(b, [1, k, n]));
  const aT = transposeA ? alias(a, [1, k, m]) : swapLastTwo(backend, alias(a, [1, m, k]));
  const productT = callWasm('BatchMatMul', backend, { a: bT, b: aT }, { transposeA: false, transposeB: false });
  if (!transposeB) release(backend, bT);
  if (!transposeA) release(backend, aT);
  const out = swapLastTwo(backend, alias(productT, [1, n, m]));
  release(backend, productT);
  return out;
}

/** One fast product per batch; a: [batchA, M, K] (batchA 1 or B), b: [B, K, N] -> [B, M, N]. */
function perBatchMatMul(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  batchA: number,
  batch: number,
  m: number,
  k: number,
  n: number,
): TensorInfo {
  const out = backend.makeOutput([batch, m, n], 'float32');
  const shared = batchA === 1 ? a : null;
  for (let i = 0; i < batch; i++) {
    const ai = shared ?? copyMatrix(backend, a, i, [1, m, k]);
    const bi = copyMatrix(backend, b, i, [1, k, n]);
    const product = callWasm('BatchMatMul', backend, { a: ai, b: bi }, { transposeA: false, transposeB: false });
    floats(backend, out).set(floats(backend, product), i * m * n);
    release(backend, product, bi);
    if (ai !== shared) release(backend, ai);
  }
  return out;
}

function copyMatrix(backend: BackendWasm, source: TensorInfo, index: number, shape: number[]): TensorInfo {
  const size = tf.util.sizeFromShape(shape);
  const copy = backend.makeOutput(shape, 'float32');
  floats(backend, copy).set(floats(backend, source).subarray(index * size, (index + 1) * size));
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Convolution gradients, as convolutions

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function convInfoFor(kernel: string, xShape: number[], filterShape: number[], attrs: ConvGradAttrs) {
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (format !== 'channelsLast') {
    throw new Error(`wasm backend ${kernel} supports only dataFormat 'NHWC' (got '${attrs.dataFormat}')`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    format,
  );
}

function conv2d(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  pads: [number, number, number, number],
  dilations: [number, number] = [1, 1],
): TensorInfo {
  const [top, bottom, left, right] = pads;
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
  return callWasm('Conv2D', backend, { x, filter }, { strides: [1, 1], pad, dilations, dataFormat: 'NHWC' });
}

/**
 * Contraction length (output rows x OW x B) per partial product of the filter gradient. XNNPACK's
 * GEMM does not split a long contraction, so one product over the whole batch streams its packed
 * operand from memory for every block of rows; about 10k keeps it in cache (measured ~1.5x).
 */
const FILTER_GRAD_CHUNK = 10_000;

/**
 * Contraction length (OH x OW x images) per convolution of the filter gradient below: the
 * convolution's packed "filter" (a slice of dy) then stays in cache while XNNPACK walks the
 * output. Measured with bench/kernels.ts on cnn's conv2 (batch 100): 3k 86-89 ms of CPU,
 * 10k 97-101 ms, 40k 103-107 ms; the patch-matrix version below 109-112 ms.
 */
const FILTER_GRAD_CONV_CHUNK = 3_000;

/**
 * The same for a single input channel (a first layer on grey images), whose convolution has only
 * KH x KW output rows, so the fixed cost per chunk weighs more: cnn's conv1 at batch 50 took
 * 11.1-11.3 ms of CPU at 3k, 9.2-10.5 ms from 8k to 20k (bench/kernels.ts --batch 50, alternating).
 */
const FILTER_GRAD_CONV_CHUNK_ONE_CHANNEL = 12_000;

/**
 * Conv2DBackpropFilter for stride 1, as one XNNPACK convolution per chunk of images: with the
 * batch axis moved to the channels, x becomes an image per input channel, xT [Ci, H, W, b], and
 * dy a filter, dyT [OH, OW, b, Co]; convolving them (the forward pass's padding) gives
 * [Ci, KH, KW, Co], summed over chunks and transposed to [KH, KW, Ci, Co]. XNNPACK reads the
 * patches through its indirection buffer, so nothing the size of the patch matrix is copied.
 * Returns null where this does not apply (strides or dilations above 1).
 */
function conv2DBackpropFilterByConv(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo | null {
  const { batchSize: batch, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, padInfo } = info;
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const { top, left } = padInfo;
  const bottom = filterHeight - 1 + outHeight - inHeight - top;
  const right = filterWidth - 1 + outWidth - inWidth - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  const chunk = inChannels === 1 ? FILTER_GRAD_CONV_CHUNK_ONE_CHANNEL : FILTER_GRAD_CONV_CHUNK;
  const perChunk = Math.max(1, Math.min(batch, Math.floor(chunk / (outHeight * outWidth))));
  let total: TensorInfo | null = null; // [Ci, KH, KW, Co]
  for (let first = 0; first < batch; first += perChunk) {
    const count = Math.min(perChunk, batch - first);
    const xPart = count === batch ? x : batchSlice(backend, x, first, count);
    const dyPart = count === batch ? dy : batchSlice(backend, dy, first, count);
    const xT = callWasm('Transpose', backend, { x: xPart }, { perm: [3, 1, 2, 0] });
    const dyT = callWasm('Transpose', backend, { x: dyPart }, { perm: [1, 2, 0, 3] });
    if (xPart !== x) release(backend, xPart);
    if (dyPart !== dy) release(backend, dyPart);
    const part = conv2d(backend, xT, dyT, [top, bottom, left, right]);
    // Releasing dyT also frees the XNNPACK operator the backend cached for it as a filter.
    release(backend, xT, dyT);
    if (total === null) {
      total = part;
    } else {
      const sum = floats(backend, total);
      const add = floats(backend, part);
      for (let i = 0; i < sum.length; i++) sum[i] += add[i];
      release(backend, part);
    }
  }
  const out = callWasm('Transpose', backend, { x: alias(total!, [inChannels, filterHeight, filterWidth, outChannels]) }, { perm: [1, 2, 0, 3] });
  release(backend, total!);
  return out;
}

/** Images [first, first + count) of a [B, ...] tensor, copied (they are contiguous). */
function batchSlice(backend: BackendWasm, x: TensorInfo, first: number, count: number): TensorInfo {
  const perImage = tf.util.sizeFromShape(x.shape.slice(1));
  const out = backend.makeOutput([count, ...x.shape.slice(1)], 'float32');
  floats(backend, out).set(floats(backend, x).subarray(first * perImage, (first + count) * perImage));
  return out;
}

/**
 * Conv2DBackpropFilter: x [B, H, W, Ci], dy [B, OH, OW, Co] -> dW [KH, KW, Ci, Co]. Stride 1
 * goes to conv2DBackpropFilterByConv; other strides are built here from a patch matrix.
 * dW[kh, kw, ci, co] = sum over (oh, ow, b) of x[b, oh*s + kh - padTop, ow*s + kw - padLeft, ci] *
 * dy[b, oh, ow, co]: one matrix product patches [KH*KW*Ci, (oh, ow, b)] x dy as [(oh, ow, b), Co].
 * With x transposed to [Ci, H, W, B], each patch row is a run of whole (w, b) blocks, so building
 * it is plain copying; the product is computed a few output rows at a time and summed.
 */
function conv2DBackpropFilter({ inputs, backend, attrs }: WasmKernelArgs): TensorInfo {
  const { x, dy } = inputs;
  const { filterShape } = attrs as unknown as { filterShape: number[] };
  const info = convInfoFor('Conv2DBackpropFilter', x.shape, filterShape, attrs as unknown as ConvGradAttrs);
  const byConv = conv2DBackpropFilterByConv(backend, x, dy, info);
  if (byConv) return byConv;
  const { batchSize: batch, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth } = info;
  const patchRows = filterHeight * filterWidth * inChannels;
  const rowLength = outWidth * batch; // one output row of one patch row

  const xT = callWasm('Transpose', backend, { x: alias(x, [batch, inHeight * inWidth, inChannels]) }, { perm: [2, 1, 0] });
  const dyT = callWasm('Transpose', backend, { x: alias(dy, [batch, outHeight * outWidth, outChannels]) }, { perm: [1, 0, 2] });
  const rowsPerChunk = Math.max(1, Math.floor(FILTER_GRAD_CHUNK / rowLength));
  const whole = rowsPerChunk >= outHeight;
  const dW = whole ? null : backend.makeOutput([patchRows, outChannels], 'float32');
  if (dW) floats(backend, dW).fill(0);
  let result: TensorInfo | null = null;
  for (let firstRow = 0; firstRow < outHeight; firstRow += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, outHeight - firstRow);
    const length = rows * rowLength;
    const patches = backend.makeOutput([1, patchRows, length], 'float32');
    let dyChunk = alias(dyT, [1, length, outChannels]);
    if (!whole) {
      dyChunk = backend.makeOutput([1, length, outChannels], 'float32');
      const offset = firstRow * rowLength * outChannels;
      floats(backend, dyChunk).set(floats(backend, dyT).subarray(offset, offset + length * outChannels));
    }
    fillPatches(floats(backend, xT), floats(backend, patches), info, firstRow, rows);
    const product = callWasm('BatchMatMul', backend, { a: patches, b: dyChunk }, { transposeA: false, transposeB: false });
    release(backend, patches);
    if (!whole) release(backend, dyChunk);
    if (dW) {
      const total = floats(backend, dW);
      const part = floats(backend, product);
      for (let i = 0; i < total.length; i++) total[i] += part[i];
      release(backend, product);
    } else {
      result = product;
    }
  }
  release(backend, xT, dyT);
  const out = dW ?? result;
  if (!out) throw new Error('wasmKernels.ts: Conv2DBackpropFilter got an empty dy');
  return alias(out, [filterHeight, filterWidth, inChannels, outChannels]);
}

/**
 * Writes patches [KH*KW*Ci, rows*OW*B] for output rows [firstRow, firstRow + rows) from
 * xT [Ci, H, W, B]; positions in the padding are zero.
 */
function fillPatches(
  xT: Float32Array,
  patches: Float32Array,
  info: tf.backend_util.Conv2DInfo,
  firstRow: number,
  rows: number,
): void {
  const { batchSize: batch, inHeight, inWidth, inChannels, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, padInfo } = info;
  const rowLength = outWidth * batch;
  const length = rows * rowLength;
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      // Output columns whose input column (ow*s + kw - padLeft) lies inside x.
      const firstCol = Math.max(0, Math.ceil((padInfo.left - kw) / strideWidth));
      const endCol = Math.min(outWidth, Math.floor((inWidth - 1 + padInfo.left - kw) / strideWidth) + 1);
      for (let ci = 0; ci < inChannels; ci++) {
        const patchRow = ((kh * filterWidth + kw) * inChannels + ci) * length;
        for (let r = 0; r < rows; r++) {
          const dst = patchRow + r * rowLength;
          const inRow = (firstRow + r) * strideHeight + kh - padInfo.top;
          if (inRow < 0 || inRow >= inHeight || endCol <= firstCol) {
            patches.fill(0, dst, dst + rowLength);
            continue;
          }
          patches.fill(0, dst, dst + firstCol * batch);
          patches.fill(0, dst + Math.max(endCol, firstCol) * batch, dst + rowLength);
          const srcRow = (ci * inHeight + inRow) * inWidth;
          if (strideWidth === 1) {
            const from = (srcRow + firstCol + kw - padInfo.left) * batch;
            patches.set(xT.subarray(from, from + (endCol - firstCol) * batch), dst + firstCol * batch);
          } else {
            for (let ow = firstCol; ow < endCol; ow++) {
              const from = (srcRow + ow * strideWidth + kw - padInfo.left) * batch;
              patches.set(xT.subarray(from, from + batch), dst + ow * batch);
            }
          }
        }
      }
    }
  }
}

/**
 * Conv2DBackpropInput: dy [B, OH, OW, Co], filter [KH, KW, Ci, Co] -> dx inputShape [B, H, W, Ci].
 * dx is the stride-1 convolution of dy (zeros inserted between its pixels when the forward
 * stride is > 1) with the filter rotated 180 degrees and its channel axes swapped.
 */
function conv2DBackpropInput({ inputs, backend, attrs }: WasmKernelArgs): TensorInfo {
  const { dy, filter } = inputs;
  const { inputShape } = attrs as unknown as { inputShape: number[] };
  const info = convInfoFor('Conv2DBackpropInput', inputShape, filter.shape, attrs as unknown as ConvGradAttrs);
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, padInfo } = info;
  const dilatedHeight = (outHeight - 1) * strideHeight + 1;
  const dilatedWidth = (outWidth - 1) * strideWidth + 1;
  const top = filterHeight - 1 - padInfo.top;
  const left = filterWidth - 1 - padInfo.left;
  const bottom = inHeight + filterHeight - 1 - top - dilatedHeight;
  const right = inWidth + filterWidth - 1 - left - dilatedWidth;

  const rotated = rotateFilter(backend, filter);
  let dx: TensorInfo;
  if (strideHeight === 1 && strideWidth === 1 && Math.min(top, bottom, left, right) >= 0) {
    dx = conv2d(backend, dy, rotated, [top, bottom, left, right]);
  } else {
    const spread = spreadAndPad(backend, dy, strideHeight, strideWidth, [top, bottom, left, right]);
    dx = conv2d(backend, spread, rotated, [0, 0, 0, 0]);
    release(backend, spread);
  }
  release(backend, rotated);
  return dx;
}

/** filter [KH, KW, Ci, Co] -> [KH, KW, Co, Ci], rotated 180 degrees in (KH, KW). */
function rotateFilter(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const out = backend.makeOutput([kh, kw, co, ci], 'float32');
  const src = floats(backend, filter);
  const dst = floats(backend, out);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const from = ((kh - 1 - i) * kw + (kw - 1 - j)) * ci * co;
      const to = (i * kw + j) * co * ci;
      for (let c = 0; c < ci; c++) {
        for (let o = 0; o < co; o++) dst[to + o * ci + c] = src[from + c * co + o];
      }
    }
  }
  return out;
}

/**
 * dy [B, OH, OW, C] -> [B, (OH-1)*sh + 1 + top + bottom, (OW-1)*sw + 1 + left + right, C]:
 * pixels spread `stride` apart, zeros between, then padded (a negative pad crops).
 */
function spreadAndPad(
  backend: BackendWasm,
  dy: TensorInfo,
  strideHeight: number,
  strideWidth: number,
  [top, bottom, left, right]: [number, number, number, number],
): TensorInfo {
  const [batch, height, width, channels] = dy.shape;
  const outHeight = (height - 1) * strideHeight + 1 + top + bottom;
  const outWidth = (width - 1) * strideWidth + 1 + left + right;
  const out = backend.makeOutput([batch, outHeight, outWidth, channels], 'float32');
  const src = floats(backend, dy);
  const dst = floats(backend, out);
  dst.fill(0);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < height; i++) {
      const row = top + i * strideHeight;
      if (row < 0 || row >= outHeight) continue;
      for (let j = 0; j < width; j++) {
        const col = left + j * strideWidth;
        if (col < 0 || col >= outWidth) continue;
        const from = ((b * height + i) * width + j) * channels;
        dst.set(src.subarray(from, from + channels), ((b * outHeight + row) * outWidth + col) * channels);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pooling gradient

/**
 * MaxPoolGrad: dy [B, OH, OW, C], input x [B, H, W, C] -> dx [B, H, W, C]; each output's
 * gradient goes to the first maximum of its window (row-major), as in TensorFlow.
 */
function maxPoolGrad({ inputs, backend, attrs }: WasmKernelArgs): TensorInfo {
  const { dy, input } = inputs;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const dx = backend.makeOutput(input.shape, 'float32');
  const xs = floats(backend, input);
  const dys = floats(backend, dy);
  const dxs = floats(backend, dx);
  dxs.fill(0);
  const halving =
    effectiveFilterHeight === 2 && effectiveFilterWidth === 2 && strideHeight === 2 && strideWidth === 2 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 && 2 * outHeight <= inHeight && 2 * outWidth <= inWidth;
  if (halving) {
    maxPoolGradHalving(xs, dys, dxs, batchSize, inHeight, inWidth, outHeight, outWidth, channels);
    return dx;
  }
  const best = new Float32Array(channels);
  const where = new Int32Array(channels);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const rowStart = oh * strideHeight - info.padInfo.top;
      for (let ow = 0; ow < outWidth; ow++) {
        const colStart = ow * strideWidth - info.padInfo.left;
        best.fill(-Infinity);
        where.fill(-1);
        for (let r = rowStart; r < rowStart + effectiveFilterHeight; r += dilationHeight) {
          if (r < 0 || r >= inHeight) continue;
          for (let c = colStart; c < colStart + effectiveFilterWidth; c += dilationWidth) {
            if (c < 0 || c >= inWidth) continue;
            const base = ((b * inHeight + r) * inWidth + c) * channels;
            for (let ch = 0; ch < channels; ch++) {
              const v = xs[base + ch];
              if (v > best[ch]) {
                best[ch] = v;
                where[ch] = base + ch;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * channels;
        for (let ch = 0; ch < channels; ch++) {
          if (where[ch] >= 0) dxs[where[ch]] += dys[dyBase + ch];
        }
      }
    }
  }
  return dx;
}

/**
 * MaxPoolGrad of 2x2 windows, stride 2, no padding (every CNN's pooling): windows do not overlap,
 * so each goes once through its four pixels per channel, without the general loop's per-window
 * bookkeeping (3x faster on cnn's [50, 28, 28, 32]). dxs must be zero. Same choice as the general loop: the first strict maximum in row-major order.
 */
function maxPoolGradHalving(
  xs: Float32Array,
  dys: Float32Array,
  dxs: Float32Array,
  batchSize: number,
  inHeight: number,
  inWidth: number,
  outHeight: number,
  outWidth: number,
  channels: number,
): void {
  const rowStride = inWidth * channels;
  let dyAt = 0;
  for (let row = 0; row < batchSize * outHeight; row++) {
    const image = Math.floor(row / outHeight);
    const top = (image * inHeight + 2 * (row - image * outHeight)) * rowStride;
    for (let ow = 0; ow < outWidth; ow++) {
      const p0 = top + 2 * ow * channels;
      const p1 = p0 + channels;
      const p2 = p0 + rowStride;
      const p3 = p2 + channels;
      for (let ch = 0; ch < channels; ch++, dyAt++) {
        let best = -Infinity;
        let where = -1;
        const v0 = xs[p0 + ch];
        if (v0 > best) { best = v0; where = p0 + ch; }
        const v1 = xs[p1 + ch];
        if (v1 > best) { best = v1; where = p1 + ch; }
        const v2 = xs[p2 + ch];
        if (v2 > best) { best = v2; where = p2 + ch; }
        const v3 = xs[p3 + ch];
        if (v3 > best) where = p3 + ch;
        if (where >= 0) dxs[where] = dys[dyAt];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Copies the backend makes for nothing

/**
 * Identity (which tfjs runs to keep every tensor a gradient needs) copies the whole tensor on
 * wasm; tensors are immutable, so share the data as the cpu backend and Reshape do.
 */
function identity({ inputs, backend }: WasmKernelArgs): TensorInfo {
  const { x } = inputs;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * Slice: x [d0, ..., dn] -> size, from begin. The backend first copies the whole input out of
 * the heap (readSync), so taking a 200-image batch from a 55,000-image tensor cost ~100 ms;
 * reading the heap in place makes it proportional to the slice.
 */
function slice({ inputs, backend, attrs }: WasmKernelArgs): TensorInfo {
  const { x } = inputs;
  if (!HEAP_DTYPES.includes(x.dtype)) return callWasm('Slice', backend, inputs, attrs);
  const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [start, extent] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  const out = backend.makeOutput(extent, x.dtype);
  const count = tf.util.sizeFromShape(extent);
  if (count === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const strides = [...tf.util.computeStrides(x.shape), 1];
  if (tf.slice_util.isSliceContinous(x.shape, start, extent)) {
    const from = tf.slice_util.computeFlatOffset(start, strides);
    dst.set(src.subarray(from, from + count));
    return out;
  }
  // Copy runs along the last axis; an odometer walks the leading axes.
  const rank = x.shape.length;
  const run = extent[rank - 1];
  const index = new Array<number>(rank - 1).fill(0);
  for (let written = 0; written < count; written += run) {
    let from = start[rank - 1];
    for (let axis = 0; axis < rank - 1; axis++) from += (start[axis] + index[axis]) * strides[axis];
    dst.set(src.subarray(from, from + run), written);
    for (let axis = rank - 2; axis >= 0; axis--) {
      if (++index[axis] < extent[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

/** Cast to the dtype a tensor already has (relu's gradient does it): share, do not copy. */
function cast(args: WasmKernelArgs): TensorInfo {
  const { x } = args.inputs;
  return x.dtype === (args.attrs.dtype as string) ? identity(args) : callWasm('Cast', args.backend, args.inputs, args.attrs);
}

/**
 * Sum (or Mean) over leading axes, e.g. a bias gradient: dy [B, H, W, C] summed over (B, H, W)
 * -> [C], or batch-norm moments. The backend transposes the whole input before reducing; column
 * sums read it once. Any other reduction goes to the backend's kernel.
 */
function reduceLeading(kernel: 'Sum' | 'Mean', { inputs, backend, attrs }: WasmKernelArgs): TensorInfo {
  const { x } = inputs;
  const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
  const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) return callWasm(kernel, backend, inputs, attrs);
  const kept = x.shape.slice(axes.length);
  const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
  const cols = tf.util.sizeFromShape(kept);
  const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
  const src = floats(backend, x);
  const total = new Float64Array(cols);
  // Eight rows per pass over the totals: a quarter of the loads and stores of one at a time.
  let r = 0;
  for (; r + 7 < rows; r += 8) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) {
      const p = o + c;
      total[c] +=
        src[p] + src[p + cols] + (src[p + 2 * cols] + src[p + 3 * cols]) +
        (src[p + 4 * cols] + src[p + 5 * cols] + (src[p + 6 * cols] + src[p + 7 * cols]));
    }
  }
  for (; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) total[c] += src[o + c];
  }
  if (kernel === 'Mean') {
    for (let c = 0; c < cols; c++) total[c] /= rows;
  }
  floats(backend, out).set(total);
  return out;
}

/**
 * Tile: x [d0, ..., dn] -> [d0*reps0, ..., dn*repsn] by block copies (the backend computes an
 * index per element; batch norm's gradient tiles a [1, 1, 1, C] tensor to the full activation).
 */
function tile({ inputs, backend, attrs }: WasmKernelArgs): TensorInfo {
  const { x } = inputs;
  const { reps } = attrs as unknown as { reps: number[] };
  if (!HEAP_DTYPES.includes(x.dtype) || x.shape.length === 0) return callWasm('Tile', backend, inputs, attrs);
  const shape = x.shape;
  const rank = shape.length;
  const outShape = shape.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const outStrides = [...tf.util.computeStrides(outShape), 1];
  const last = shape[rank - 1];
  // 1. Each input row, repeated along the last axis, at the first tile of the outer axes.
  const rowCount = tf.util.sizeFromShape(shape.slice(0, -1));
  for (let row = 0; row < rowCount; row++) {
    let rest = row;
    let base = 0;
    for (let axis = rank - 2; axis >= 0; axis--) {
      base += (rest % shape[axis]) * outStrides[axis];
      rest = Math.floor(rest / shape[axis]);
    }
    const line = src.subarray(row * last, (row + 1) * last);
    for (let r = 0; r < reps[rank - 1]; r++) dst.set(line, base + r * last);
  }
  // 2. Outward, axis by axis: copy the finished first tile of that axis reps-1 times after it.
  for (let axis = rank - 2; axis >= 0; axis--) {
    const block = shape[axis] * outStrides[axis];
    const outerCount = tf.util.sizeFromShape(shape.slice(0, axis));
    for (let outer = 0; outer < outerCount; outer++) {
      let rest = outer;
      let base = 0;
      for (let a = axis - 1; a >= 0; a--) {
        base += (rest % shape[a]) * outStrides[a];
        rest = Math.floor(rest / shape[a]);
      }
      for (let r = 1; r < reps[axis]; r++) dst.copyWithin(base + r * block, base, base + block);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Registration

const OVERRIDES: Record<string, WasmKernel> = {
  BatchMatMul: (args) => matMul('BatchMatMul', args),
  _FusedMatMul: (args) => matMul('_FusedMatMul', args),
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  MaxPoolGrad: maxPoolGrad,
  Identity: identity,
  Cast: cast,
  Sum: (args) => reduceLeading('Sum', args),
  Mean: (args) => reduceLeading('Mean', args),
  Tile: tile,
  Slice: slice,
};

/** Names of the wasm kernels this module replaces or adds. */
export const WASM_TRAINING_KERNELS: readonly string[] = Object.keys(OVERRIDES);

/**
 * Registers the training kernels above for tfjs's 'wasm' backend. Idempotent. The wasm backend
 * package must already be loaded (`selectBackend('wasm')` does it), since several overrides
 * build on its kernels; it need not be the active backend.
 */
export function registerWasmTrainingKernels(): void {
  if (!tf.getKernel('BatchMatMul', BACKEND)) {
    throw new Error(
      "wasmKernels.ts: the wasm backend's kernels are not loaded; import @tensorflow/tfjs-backend-wasm first " +
        "(selectBackend('wasm') in main/ml/backend.ts does)",
    );
  }
  for (const [name, kernel] of Object.entries(OVERRIDES)) {
    const current = tf.getKernel(name, BACKEND);
    const currentFunc = current?.kernelFunc as MarkedKernelFunc | undefined;
    const original = currentFunc && REPLACED in currentFunc ? (currentFunc[REPLACED] ?? null) : (current ?? null);
    replaced.set(name, original);
    if (current) tf.unregisterKernel(name, BACKEND);
    const kernelFunc: MarkedKernelFunc = (args) => kernel(args as unknown as WasmKernelArgs);
    kernelFunc[REPLACED] = original;
    // Keep the original's setup: when we register before the backend starts, tfjs runs the
    // setup of whatever is registered, and the original kernel we call needs its own.
    tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc, setupFunc: original?.setupFunc });
  }
}
