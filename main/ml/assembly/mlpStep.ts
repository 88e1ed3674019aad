/**
 * AssemblyScript source of the fused MLP gradient step (mlpKernel.ts loads its compiled module,
 * mlpStepWasm.ts; `npx tsx main/ml/buildMlpKernel.ts` rebuilds it and a test checks it matches).
 *
 * One batch of a dense ReLU network inputs -> hidden (ReLU) -> 10 logits, softmax cross-entropy:
 * loss and gradients of every parameter in one call, in WebAssembly SIMD (f32x4).
 *
 * MNIST images are about 80% zeros, so the first layer (nearly all the arithmetic) works on the
 * nonzero pixels only: forward h[b] = relu(b1 + sum over nonzero p of x[b,p] W1[p]) and backward
 * dW1[p] = sum over images with x[b,p] != 0 of x[b,p] dh[b]. Both keep a 32-wide strip of the
 * hidden units in registers while they stream rows, so each row element is loaded once per strip.
 * A dense input goes through the same loops (every pixel "nonzero"): the same arithmetic as a
 * dense product, without the zero skipping.
 *
 * Memory (all float32 unless said, rows 16-byte aligned, laid out by `layout`): parameters
 * W1 [inputs, hidden], b1 [hidden], W2 [hidden, 10], b2 [10]; their gradients in the same shapes;
 * x [batch, inputs]; labels i32 [batch]; scratch (h, dh, logits, sparse indices).
 */

const CLASSES: i32 = 10;
const STRIP: i32 = 32; // hidden units kept in 8 registers

let inputs: i32 = 0;
let hidden: i32 = 0;
let batch: i32 = 0;

let w1: usize = 0;
let b1: usize = 0;
let w2: usize = 0;
let b2: usize = 0;
let gw1: usize = 0;
let gb1: usize = 0;
let gw2: usize = 0;
let gb2: usize = 0;
let xs: usize = 0;
let labels: usize = 0;
let hid: usize = 0; // h [batch, hidden] after ReLU
let dhid: usize = 0; // dh [batch, hidden]
let logits: usize = 0; // logits, then dlogits [batch, 10]
let w2t: usize = 0; // W2 transposed [10, hidden]
let rowStart: usize = 0; // i32 [batch + 1]: image b's nonzero pixels are entries rowStart[b] .. rowStart[b+1]
let rowPixel: usize = 0; // i32 [batch * inputs]
let rowValue: usize = 0; // f32 [batch * inputs]
let colStart: usize = 0; // i32 [inputs + 1]: pixel p's images are entries colStart[p] .. colStart[p+1]
let colFill: usize = 0; // i32 [inputs]
let colImage: usize = 0; // i32 [batch * inputs]: byte offset of the image's dh row
let colValue: usize = 0; // f32 [batch * inputs]

function take(at: usize, bytes: usize): usize {
  return (at + bytes + 15) & ~(<usize>15);
}

/**
 * Lays out memory for `batchSize` images of `inputCount` pixels and `hiddenCount` hidden units
 * (a multiple of 4), growing it as needed. Returns 0, or -1 when the sizes are not supported.
 */
export function layout(inputCount: i32, hiddenCount: i32, batchSize: i32): i32 {
  if (hiddenCount <= 0 || hiddenCount % 4 != 0 || inputCount <= 0 || batchSize <= 0) return -1;
  inputs = inputCount;
  hidden = hiddenCount;
  batch = batchSize;
  const f = <usize>4;
  const I = <usize>inputs;
  const H = <usize>hidden;
  const B = <usize>batch;
  const C = <usize>CLASSES;
  let at = take(__heap_base, 0);
  w1 = at; at = take(at, I * H * f);
  b1 = at; at = take(at, H * f);
  w2 = at; at = take(at, H * C * f);
  b2 = at; at = take(at, C * f);
  gw1 = at; at = take(at, I * H * f);
  gb1 = at; at = take(at, H * f);
  gw2 = at; at = take(at, H * C * f);
  gb2 = at; at = take(at, C * f);
  xs = at; at = take(at, B * I * f);
  labels = at; at = take(at, B * f);
  hid = at; at = take(at, B * H * f);
  dhid = at; at = take(at, B * H * f);
  logits = at; at = take(at, B * C * f);
  w2t = at; at = take(at, C * H * f);
  rowStart = at; at = take(at, (B + 1) * f);
  rowPixel = at; at = take(at, B * I * f);
  rowValue = at; at = take(at, B * I * f);
  colStart = at; at = take(at, (I + 1) * f);
  colFill = at; at = take(at, I * f);
  colImage = at; at = take(at, B * I * f);
  colValue = at; at = take(at, B * I * f);
  const pages = <i32>((at + 0xffff) >> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return -1;
  return 0;
}

export function weightsW1(): usize { return w1; }
export function weightsB1(): usize { return b1; }
export function weightsW2(): usize { return w2; }
export function weightsB2(): usize { return b2; }
export function gradientW1(): usize { return gw1; }
export function gradientB1(): usize { return gb1; }
export function gradientW2(): usize { return gw2; }
export function gradientB2(): usize { return gb2; }
export function inputX(): usize { return xs; }
export function inputLabels(): usize { return labels; }

/** Nonzero pixels of images [start, end), by image (rows) and by pixel (columns). */
function gatherNonzero(start: i32, end: i32): void {
  const zero = f32x4.splat(0);
  let k: i32 = 0;
  memory.fill(colStart, 0, <usize>(inputs + 1) << 2);
  for (let b = start; b < end; b++) {
    store<i32>(rowStart + (<usize>(b - start) << 2), k);
    const row = xs + ((<usize>b * <usize>inputs) << 2);
    let p: i32 = 0;
    for (; p + 4 <= inputs; p += 4) {
      const v = v128.load(row + (<usize>p << 2));
      if (!v128.any_true(f32x4.ne(v, zero))) continue;
      for (let q = p; q < p + 4; q++) {
        const value = load<f32>(row + (<usize>q << 2));
        if (value != 0) {
          store<i32>(rowPixel + (<usize>k << 2), q);
          store<f32>(rowValue + (<usize>k << 2), value);
          k++;
        }
      }
    }
    for (; p < inputs; p++) {
      const value = load<f32>(row + (<usize>p << 2));
      if (value != 0) {
        store<i32>(rowPixel + (<usize>k << 2), p);
        store<f32>(rowValue + (<usize>k << 2), value);
        k++;
      }
    }
  }
  store<i32>(rowStart + (<usize>(end - start) << 2), k);
  // Columns: count per pixel, prefix sums, then fill in image order (so sums run in image order).
  for (let e = 0; e < k; e++) {
    const at = colStart + (<usize>(load<i32>(rowPixel + (<usize>e << 2)) + 1) << 2);
    store<i32>(at, load<i32>(at) + 1);
  }
  for (let p = 0; p < inputs; p++) {
    const at = colStart + (<usize>(p + 1) << 2);
    store<i32>(at, load<i32>(at) + load<i32>(at - 4));
  }
  memory.copy(colFill, colStart, <usize>inputs << 2);
  const rowBytes = <usize>hidden << 2;
  for (let b = 0; b < end - start; b++) {
    const from = load<i32>(rowStart + (<usize>b << 2));
    const to = load<i32>(rowStart + (<usize>(b + 1) << 2));
    for (let e = from; e < to; e++) {
      const fillAt = colFill + (<usize>load<i32>(rowPixel + (<usize>e << 2)) << 2);
      const slot = load<i32>(fillAt);
      store<i32>(fillAt, slot + 1);
      store<i32>(colImage + (<usize>slot << 2), <i32>(<usize>b * rowBytes));
      store<f32>(colValue + (<usize>slot << 2), load<f32>(rowValue + (<usize>e << 2)));
    }
  }
}

/**
 * out[0..32) = init[0..32) (or 0) + sum over entries e in [from, to) of value[e] * the 32 floats
 * at column + offset[e] * stride, with ReLU on the way out when `relu`: 8 registers of 4 floats,
 * each row element loaded once. Both first-layer products are made of these.
 */
// @ts-ignore: decorator
@inline function stripSum(column: usize, values: usize, offsets: usize, stride: usize, from: i32, to: i32, init: usize, out: usize, relu: bool): void {
  const zero = f32x4.splat(0);
  let a0 = init ? v128.load(init, 0) : zero;
  let a1 = init ? v128.load(init, 16) : zero;
  let a2 = init ? v128.load(init, 32) : zero;
  let a3 = init ? v128.load(init, 48) : zero;
  let a4 = init ? v128.load(init, 64) : zero;
  let a5 = init ? v128.load(init, 80) : zero;
  let a6 = init ? v128.load(init, 96) : zero;
  let a7 = init ? v128.load(init, 112) : zero;
  for (let e = from; e < to; e++) {
    const v = f32x4.splat(load<f32>(values + (<usize>e << 2)));
    const r = column + <usize>load<i32>(offsets + (<usize>e << 2)) * stride;
    a0 = f32x4.add(a0, f32x4.mul(v, v128.load(r, 0)));
    a1 = f32x4.add(a1, f32x4.mul(v, v128.load(r, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v, v128.load(r, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v, v128.load(r, 48)));
    a4 = f32x4.add(a4, f32x4.mul(v, v128.load(r, 64)));
    a5 = f32x4.add(a5, f32x4.mul(v, v128.load(r, 80)));
    a6 = f32x4.add(a6, f32x4.mul(v, v128.load(r, 96)));
    a7 = f32x4.add(a7, f32x4.mul(v, v128.load(r, 112)));
  }
  if (relu) {
    a0 = f32x4.max(a0, zero);
    a1 = f32x4.max(a1, zero);
    a2 = f32x4.max(a2, zero);
    a3 = f32x4.max(a3, zero);
    a4 = f32x4.max(a4, zero);
    a5 = f32x4.max(a5, zero);
    a6 = f32x4.max(a6, zero);
    a7 = f32x4.max(a7, zero);
  }
  v128.store(out, a0, 0);
  v128.store(out, a1, 16);
  v128.store(out, a2, 32);
  v128.store(out, a3, 48);
  v128.store(out, a4, 64);
  v128.store(out, a5, 80);
  v128.store(out, a6, 96);
  v128.store(out, a7, 112);
}

/** The same for 4 floats (the hidden units after the last whole strip). */
// @ts-ignore: decorator
@inline function vectorSum(column: usize, values: usize, offsets: usize, stride: usize, from: i32, to: i32, init: usize, out: usize, relu: bool): void {
  const zero = f32x4.splat(0);
  let a = init ? v128.load(init) : zero;
  for (let e = from; e < to; e++) {
    const v = f32x4.splat(load<f32>(values + (<usize>e << 2)));
    a = f32x4.add(a, f32x4.mul(v, v128.load(column + <usize>load<i32>(offsets + (<usize>e << 2)) * stride)));
  }
  v128.store(out, relu ? f32x4.max(a, zero) : a);
}

/**
 * h[b] = relu(b1 + sum over the image's nonzero pixels p of x[b, p] W1[p]) for the `count`
 * gathered images. Strip by strip over all images, so a strip's column of W1 stays in cache.
 */
function forwardHidden(count: i32): void {
  const rowBytes = <usize>hidden << 2;
  for (let c: i32 = 0; c < hidden; ) {
    const whole = c + STRIP <= hidden;
    const column = w1 + (<usize>c << 2);
    const bias = b1 + (<usize>c << 2);
    for (let b = 0; b < count; b++) {
      const from = load<i32>(rowStart + (<usize>b << 2));
      const to = load<i32>(rowStart + (<usize>(b + 1) << 2));
      const out = hid + <usize>b * rowBytes + (<usize>c << 2);
      if (whole) stripSum(column, rowValue, rowPixel, rowBytes, from, to, bias, out, true);
      else vectorSum(column, rowValue, rowPixel, rowBytes, from, to, bias, out, true);
    }
    c += whole ? STRIP : 4;
  }
}

function lanes(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/**
 * Logits, softmax cross-entropy and dlogits (scaled by 1 / total, the batch's mean) for `count`
 * images whose labels start at image `start`. Returns the summed loss / total.
 */
function outputLayer(start: i32, count: i32, total: i32): f64 {
  const rowBytes = <usize>hidden << 2;
  for (let j = 0; j < CLASSES; j++) {
    for (let k = 0; k < hidden; k++) {
      store<f32>(w2t + (<usize>(j * hidden + k) << 2), load<f32>(w2 + (<usize>(k * CLASSES + j) << 2)));
    }
  }
  const scale = <f32>1 / <f32>total;
  let loss: f64 = 0;
  for (let b = 0; b < count; b++) {
    const h = hid + <usize>b * rowBytes;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
    for (let c: usize = 0; c < rowBytes; c += 16) {
      const v = v128.load(h + c);
      const t = w2t + c;
      a0 = f32x4.add(a0, f32x4.mul(v, v128.load(t)));
      a1 = f32x4.add(a1, f32x4.mul(v, v128.load(t + rowBytes)));
      a2 = f32x4.add(a2, f32x4.mul(v, v128.load(t + 2 * rowBytes)));
      a3 = f32x4.add(a3, f32x4.mul(v, v128.load(t + 3 * rowBytes)));
      a4 = f32x4.add(a4, f32x4.mul(v, v128.load(t + 4 * rowBytes)));
      a5 = f32x4.add(a5, f32x4.mul(v, v128.load(t + 5 * rowBytes)));
      a6 = f32x4.add(a6, f32x4.mul(v, v128.load(t + 6 * rowBytes)));
      a7 = f32x4.add(a7, f32x4.mul(v, v128.load(t + 7 * rowBytes)));
      a8 = f32x4.add(a8, f32x4.mul(v, v128.load(t + 8 * rowBytes)));
      a9 = f32x4.add(a9, f32x4.mul(v, v128.load(t + 9 * rowBytes)));
    }
    const z = logits + (<usize>(b * CLASSES) << 2);
    store<f32>(z, lanes(a0) + load<f32>(b2, 0), 0);
    store<f32>(z, lanes(a1) + load<f32>(b2, 4), 4);
    store<f32>(z, lanes(a2) + load<f32>(b2, 8), 8);
    store<f32>(z, lanes(a3) + load<f32>(b2, 12), 12);
    store<f32>(z, lanes(a4) + load<f32>(b2, 16), 16);
    store<f32>(z, lanes(a5) + load<f32>(b2, 20), 20);
    store<f32>(z, lanes(a6) + load<f32>(b2, 24), 24);
    store<f32>(z, lanes(a7) + load<f32>(b2, 28), 28);
    store<f32>(z, lanes(a8) + load<f32>(b2, 32), 32);
    store<f32>(z, lanes(a9) + load<f32>(b2, 36), 36);
    // Softmax cross-entropy as tfjs computes it: log-sum-exp around the largest logit.
    let top = load<f32>(z);
    for (let j = 1; j < CLASSES; j++) top = max(top, load<f32>(z + (<usize>j << 2)));
    let sum: f32 = 0;
    for (let j = 0; j < CLASSES; j++) sum += Mathf.exp(load<f32>(z + (<usize>j << 2)) - top);
    const logSum = Mathf.log(sum);
    const label = load<i32>(labels + (<usize>(start + b) << 2));
    loss += <f64>(logSum + top - load<f32>(z + (<usize>label << 2)));
    for (let j = 0; j < CLASSES; j++) {
      const at = z + (<usize>j << 2);
      const p = Mathf.exp(load<f32>(at) - top - logSum);
      store<f32>(at, (j == label ? p - 1 : p) * scale);
    }
  }
  return loss / <f64>total;
}

/** dW2, db2, dh (masked by ReLU) and db1 from dlogits. */
function backwardOutput(count: i32): void {
  const zero = f32x4.splat(0);
  const rowBytes = <usize>hidden << 2;
  // db2 and dW2 [hidden, 10]: for each group of 4 hidden units, 10 accumulators over the images.
  for (let j = 0; j < CLASSES; j++) {
    let s: f32 = 0;
    for (let b = 0; b < count; b++) s += load<f32>(logits + (<usize>(b * CLASSES + j) << 2));
    store<f32>(gb2 + (<usize>j << 2), s);
  }
  for (let c: usize = 0; c < rowBytes; c += 16) {
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero, a8 = zero, a9 = zero;
    for (let b = 0; b < count; b++) {
      const v = v128.load(hid + <usize>b * rowBytes + c);
      const d = logits + (<usize>(b * CLASSES) << 2);
      a0 = f32x4.add(a0, f32x4.mul(v, f32x4.splat(load<f32>(d, 0))));
      a1 = f32x4.add(a1, f32x4.mul(v, f32x4.splat(load<f32>(d, 4))));
      a2 = f32x4.add(a2, f32x4.mul(v, f32x4.splat(load<f32>(d, 8))));
      a3 = f32x4.add(a3, f32x4.mul(v, f32x4.splat(load<f32>(d, 12))));
      a4 = f32x4.add(a4, f32x4.mul(v, f32x4.splat(load<f32>(d, 16))));
      a5 = f32x4.add(a5, f32x4.mul(v, f32x4.splat(load<f32>(d, 20))));
      a6 = f32x4.add(a6, f32x4.mul(v, f32x4.splat(load<f32>(d, 24))));
      a7 = f32x4.add(a7, f32x4.mul(v, f32x4.splat(load<f32>(d, 28))));
      a8 = f32x4.add(a8, f32x4.mul(v, f32x4.splat(load<f32>(d, 32))));
      a9 = f32x4.add(a9, f32x4.mul(v, f32x4.splat(load<f32>(d, 36))));
    }
    // Lane i of a_j is dW2[c/4 + i, j].
    const g = gw2 + c * CLASSES;
    storeColumn(g, a0, 0);
    storeColumn(g, a1, 1);
    storeColumn(g, a2, 2);
    storeColumn(g, a3, 3);
    storeColumn(g, a4, 4);
    storeColumn(g, a5, 5);
    storeColumn(g, a6, 6);
    storeColumn(g, a7, 7);
    storeColumn(g, a8, 8);
    storeColumn(g, a9, 9);
  }
  // dh[b] = (h[b] > 0) * sum_j dlogits[b, j] W2T[j]; db1 = sum_b dh[b].
  memory.fill(gb1, 0, rowBytes);
  for (let b = 0; b < count; b++) {
    const d = logits + (<usize>(b * CLASSES) << 2);
    const d0 = f32x4.splat(load<f32>(d, 0));
    const d1 = f32x4.splat(load<f32>(d, 4));
    const d2 = f32x4.splat(load<f32>(d, 8));
    const d3 = f32x4.splat(load<f32>(d, 12));
    const d4 = f32x4.splat(load<f32>(d, 16));
    const d5 = f32x4.splat(load<f32>(d, 20));
    const d6 = f32x4.splat(load<f32>(d, 24));
    const d7 = f32x4.splat(load<f32>(d, 28));
    const d8 = f32x4.splat(load<f32>(d, 32));
    const d9 = f32x4.splat(load<f32>(d, 36));
    const h = hid + <usize>b * rowBytes;
    const out = dhid + <usize>b * rowBytes;
    for (let c: usize = 0; c < rowBytes; c += 16) {
      const t = w2t + c;
      let s = f32x4.mul(d0, v128.load(t));
      s = f32x4.add(s, f32x4.mul(d1, v128.load(t + rowBytes)));
      s = f32x4.add(s, f32x4.mul(d2, v128.load(t + 2 * rowBytes)));
      s = f32x4.add(s, f32x4.mul(d3, v128.load(t + 3 * rowBytes)));
      s = f32x4.add(s, f32x4.mul(d4, v128.load(t + 4 * rowBytes)));
      s = f32x4.add(s, f32x4.mul(d5, v128.load(t + 5 * rowBytes)));
      s = f32x4.add(s, f32x4.mul(d6, v128.load(t + 6 * rowBytes)));
      s = f32x4.add(s, f32x4.mul(d7, v128.load(t + 7 * rowBytes)));
      s = f32x4.add(s, f32x4.mul(d8, v128.load(t + 8 * rowBytes)));
      s = f32x4.add(s, f32x4.mul(d9, v128.load(t + 9 * rowBytes)));
      s = v128.and(s, f32x4.gt(v128.load(h + c), zero));
      v128.store(out + c, s);
      v128.store(gb1 + c, f32x4.add(v128.load(gb1 + c), s));
    }
  }
}

/** Lane i of `v` to dW2[i, j] of the 4 rows starting at `rows`. */
// @ts-ignore: decorator
@inline function storeColumn(rows: usize, v: v128, j: i32): void {
  const at = rows + (<usize>j << 2);
  const rowBytes = <usize>CLASSES << 2;
  store<f32>(at, f32x4.extract_lane(v, 0));
  store<f32>(at + rowBytes, f32x4.extract_lane(v, 1));
  store<f32>(at + 2 * rowBytes, f32x4.extract_lane(v, 2));
  store<f32>(at + 3 * rowBytes, f32x4.extract_lane(v, 3));
}

/**
 * dW1[p] = sum over the images with a nonzero pixel p of x[b, p] dh[b]; rows of unused pixels 0.
 * Strip by strip over all pixels, so a strip's column of dh (batch x 128 bytes) stays in cache.
 */
function backwardHidden(): void {
  const rowBytes = <usize>hidden << 2;
  for (let c: i32 = 0; c < hidden; ) {
    const whole = c + STRIP <= hidden;
    const column = dhid + (<usize>c << 2);
    for (let p = 0; p < inputs; p++) {
      const from = load<i32>(colStart + (<usize>p << 2));
      const to = load<i32>(colStart + (<usize>(p + 1) << 2));
      const out = gw1 + <usize>p * rowBytes + (<usize>c << 2);
      if (whole) stripSum(column, colValue, colImage, 1, from, to, 0, out, false);
      else vectorSum(column, colValue, colImage, 1, from, to, 0, out, false);
    }
    c += whole ? STRIP : 4;
  }
}

/**
 * Loss and gradients of images [start, end) of the batch in `inputX`/`inputLabels` at the
 * weights in `weights*`: the mean cross-entropy over `total` images times (end - start) / total,
 * i.e. one shard's part of a batch of `total`. Gradients go to `gradient*`. No L2 term.
 */
export function gradients(start: i32, end: i32, total: i32): f64 {
  const count = end - start;
  gatherNonzero(start, end);
  forwardHidden(count);
  const loss = outputLayer(start, count, total);
  backwardOutput(count);
  backwardHidden();
  return loss;
}

/**
 * Adds the L2 term l2 * sum(w^2) / 2 over the kernels W1 and W2: its gradient l2 * w goes into
 * the kernels' gradients; returns the term.
 */
export function addPenalty(l2: f32): f64 {
  return penaltyOf(w1, gw1, <usize>inputs * <usize>hidden, l2) + penaltyOf(w2, gw2, <usize>hidden * CLASSES, l2);
}

function penaltyOf(w: usize, g: usize, size: usize, l2: f32): f64 {
  const decay = f32x4.splat(l2);
  let squares = f32x4.splat(0);
  let sum: f64 = 0;
  const bytes = size << 2;
  for (let at: usize = 0; at < bytes; at += 16) {
    const v = v128.load(w + at);
    v128.store(g + at, f32x4.add(v128.load(g + at), f32x4.mul(decay, v)));
    squares = f32x4.add(squares, f32x4.mul(v, v));
    if ((at & 0xfff) == 0xff0) {
      sum += <f64>lanes(squares);
      squares = f32x4.splat(0);
    }
  }
  sum += <f64>lanes(squares);
  return (<f64>l2 / 2) * sum;
}

/** How many pixels of images [start, end) are not 0 (to choose between this kernel and a dense one). */
export function nonzeroPixels(start: i32, end: i32): i32 {
  const zero = f32x4.splat(0);
  const from = xs + ((<usize>start * <usize>inputs) << 2);
  const to = xs + ((<usize>end * <usize>inputs) << 2);
  let counts = i32x4.splat(0);
  let at = from;
  // A true lane of f32x4.ne is -1: subtracting counts it.
  for (; at + 16 <= to; at += 16) counts = i32x4.sub(counts, f32x4.ne(v128.load(at), zero));
  let count = i32x4.extract_lane(counts, 0) + i32x4.extract_lane(counts, 1) + i32x4.extract_lane(counts, 2) + i32x4.extract_lane(counts, 3);
  for (; at < to; at += 4) if (load<f32>(at) != 0) count++;
  return count;
}

// ---- The optimizer update and the moving average (fusedOptimizer.ts), on flat float arrays. ----
// An instance used for these does not call `layout`: `reserve` hands out its memory instead.

let reserved: usize = 0;

/** `bytes` of memory (16-byte aligned, zeroed), growing it as needed; 0 when it cannot grow. */
export function reserve(bytes: usize): usize {
  if (reserved == 0) reserved = take(__heap_base, 0);
  const at = reserved;
  const end = take(at, bytes);
  const pages = <i32>((end + 0xffff) >> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return 0;
  reserved = end;
  return at;
}

/** w -= rate * g over `count` floats. */
export function sgdStep(w: usize, g: usize, count: i32, rate: f32): void {
  const r = f32x4.splat(rate);
  const bytes = <usize>count << 2;
  let at: usize = 0;
  for (; at + 16 <= bytes; at += 16) v128.store(w + at, f32x4.sub(v128.load(w + at), f32x4.mul(r, v128.load(g + at))));
  for (; at < bytes; at += 4) store<f32>(w + at, load<f32>(w + at) - rate * load<f32>(g + at));
}

/**
 * Adam (tfjs's AdamOptimizer arithmetic): m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * w -= rate * (m / c1) / (sqrt(v / c2) + epsilon), with c1 = 1 - b1^t, c2 = 1 - b2^t.
 */
export function adamStep(w: usize, g: usize, m: usize, v: usize, count: i32, rate: f32, b1: f32, b2: f32, c1: f32, c2: f32, epsilon: f32): void {
  const vb1 = f32x4.splat(b1);
  const vb2 = f32x4.splat(b2);
  const va1 = f32x4.splat(1 - b1);
  const va2 = f32x4.splat(1 - b2);
  const vc1 = f32x4.splat(c1);
  const vc2 = f32x4.splat(c2);
  const ve = f32x4.splat(epsilon);
  const vr = f32x4.splat(rate);
  const bytes = <usize>count << 2;
  let at: usize = 0;
  for (; at + 16 <= bytes; at += 16) {
    const gj = v128.load(g + at);
    const mj = f32x4.add(f32x4.mul(v128.load(m + at), vb1), f32x4.mul(gj, va1));
    const vj = f32x4.add(f32x4.mul(v128.load(v + at), vb2), f32x4.mul(f32x4.mul(gj, gj), va2));
    v128.store(m + at, mj);
    v128.store(v + at, vj);
    const step = f32x4.div(f32x4.div(mj, vc1), f32x4.add(f32x4.sqrt(f32x4.div(vj, vc2)), ve));
    v128.store(w + at, f32x4.sub(v128.load(w + at), f32x4.mul(step, vr)));
  }
  for (; at < bytes; at += 4) {
    const gj = load<f32>(g + at);
    const mj = load<f32>(m + at) * b1 + gj * (1 - b1);
    const vj = load<f32>(v + at) * b2 + gj * gj * (1 - b2);
    store<f32>(m + at, mj);
    store<f32>(v + at, vj);
    store<f32>(w + at, load<f32>(w + at) - ((mj / c1) / (Mathf.sqrt(vj / c2) + epsilon)) * rate);
  }
}

/** a = decay a + (1 - decay) w over `count` floats (TF's ExponentialMovingAverage). */
export function averageStep(a: usize, w: usize, count: i32, decay: f32): void {
  const d = f32x4.splat(decay);
  const e = f32x4.splat(1 - decay);
  const bytes = <usize>count << 2;
  let at: usize = 0;
  for (; at + 16 <= bytes; at += 16) v128.store(a + at, f32x4.add(f32x4.mul(v128.load(a + at), d), f32x4.mul(v128.load(w + at), e)));
  for (; at < bytes; at += 4) store<f32>(a + at, load<f32>(a + at) * decay + load<f32>(w + at) * (1 - decay));
}
