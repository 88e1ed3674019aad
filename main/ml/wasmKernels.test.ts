import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.ts';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './wasmKernels.ts';

/** Deterministic uniform values in [-1, 1) (mulberry32), so a failure reproduces. */
function randomValues(size: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed), shape);
}

/** Runs `compute` on the cpu backend, then on wasm; returns each result's values and shape. */
async function onBothBackends(compute: () => tf.Tensor[]) {
  const results: { values: Float32Array; shape: number[] }[][] = [];
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const tensors = tf.tidy(compute);
    results.push(tensors.map((t) => ({ values: t.dataSync() as Float32Array, shape: t.shape })));
    tf.dispose(tensors);
  }
  await tf.setBackend('wasm');
  return { cpu: results[0], wasm: results[1] };
}

/** Float32 agreement: |wasm - cpu| <= 1e-4 * (1 + largest |cpu| value of that tensor). */
function expectClose(cpu: { values: Float32Array; shape: number[] }[], wasm: typeof cpu, what: string) {
  expect(wasm.length, what).toBe(cpu.length);
  cpu.forEach((expected, i) => {
    expect(wasm[i].shape, `${what} #${i} shape`).toEqual(expected.shape);
    let scale = 0;
    for (const v of expected.values) scale = Math.max(scale, Math.abs(v));
    let worst = 0;
    expected.values.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - wasm[i].values[j]));
    });
    expect(Number.isFinite(scale), `${what} #${i} finite`).toBe(true);
    expect(worst, `${what} #${i} max error (scale ${scale})`).toBeLessThanOrEqual(1e-4 * (1 + scale));
  });
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('registration', () => {
  it('replaces the slow kernels and adds Conv2DBackpropFilter on wasm', () => {
    for (const name of WASM_TRAINING_KERNELS) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    expect(WASM_TRAINING_KERNELS).toContain('Conv2DBackpropFilter');
  });

  it('is idempotent: registering again still computes the right product', async () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    const { cpu, wasm } = await onBothBackends(() => [
      tf.matMul(randomTensor([6, 5], 1), randomTensor([7, 6], 2), true, true),
    ]);
    expectClose(cpu, wasm, 'matMul after double registration');
  });
});

/** The mark our override functions carry (wasmKernels.ts), whichever copy of the module registered them. */
const REPLACED = Symbol.for('digit-studio.wasmKernels.replaced');

/**
 * Runs `compute` on wasm and counts the calls that reach the kernel registered under `name`,
 * after checking that it is ours. The registration is restored afterwards.
 */
function callsToOverride(name: string, compute: () => unknown): number {
  const config = tf.getKernel(name, 'wasm')!;
  expect(config, name).toBeDefined();
  expect(REPLACED in config.kernelFunc, `${name} is our override`).toBe(true);
  let calls = 0;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      calls++;
      return config.kernelFunc(args);
    },
  });
  try {
    tf.tidy(() => {
      const out = compute();
      // Make sure lazily evaluated results are computed inside the count.
      for (const t of [out].flat() as tf.Tensor[]) t.dataSync();
    });
  } finally {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(config);
  }
  return calls;
}

describe('each override is the one running', () => {
  const x4 = () => randomTensor([2, 6, 6, 3], 11);
  const filter = () => randomTensor([3, 3, 3, 4], 12);
  /** An op that must reach each kernel we register. */
  const ops: Record<string, () => tf.Tensor | tf.Tensor[]> = {
    BatchMatMul: () => tf.matMul(randomTensor([5, 7], 1), randomTensor([7, 3], 2)),
    _FusedMatMul: () => tf.fused.matMul({ a: randomTensor([5, 7], 1), b: randomTensor([7, 3], 2), bias: randomTensor([3], 3), activation: 'relu' }),
    Conv2DBackpropFilter: () => tf.grad((f: tf.Tensor) => tf.conv2d(x4() as tf.Tensor4D, f as tf.Tensor4D, 1, 'same').sum())(filter()),
    Conv2DBackpropInput: () => tf.conv2dTranspose(randomTensor([2, 6, 6, 4], 13) as tf.Tensor4D, filter() as tf.Tensor4D, [2, 6, 6, 3], 1, 'same'),
    MaxPoolGrad: () => tf.grad((x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid').sum())(x4()),
    Identity: () => tf.clone(randomTensor([4, 3], 4)),
    Cast: () => tf.cast(randomTensor([4, 3], 5), 'int32'),
    Sum: () => tf.sum(randomTensor([4, 3], 6), 0),
    Mean: () => tf.mean(randomTensor([4, 3], 7), 0),
    Tile: () => tf.tile(randomTensor([2, 3], 8), [2, 1]),
    Slice: () => tf.slice(randomTensor([4, 3], 9), [1, 0], [2, 3]),
  };

  it('names every registered override', () => {
    expect(Object.keys(ops).sort()).toEqual([...WASM_TRAINING_KERNELS].sort());
  });

  for (const [name, op] of Object.entries(ops)) {
    it(`${name}: the op reaches our kernel`, () => {
      expect(callsToOverride(name, op)).toBeGreaterThan(0);
    });
  }
});

describe('BatchMatMul', () => {
  const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [];
  // [a shape untransposed, b shape untransposed]: plain, tall/wide, batched, broadcast batches.
  const shapes: [number[], number[]][] = [
    [[5, 7], [7, 3]],
    [[64, 33], [33, 40]],
    [[1, 200], [200, 1]],
    [[3, 50, 60], [3, 60, 45]], // batched, big enough to split into single products
    [[4, 3, 5], [4, 5, 2]], // batched, tiny: stays on the backend's loop
    [[3, 40, 50], [50, 45]], // b shared by every batch: folded into one tall product
    [[2, 3, 20, 30], [1, 1, 30, 10]],
    [[1, 40, 50], [3, 50, 45]], // a shared by every batch
    [[6, 300], [300, 80]], // a dense layer at a small batch: computed as (b^T a^T)^T
  ];
  for (const [a, b] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) cases.push({ a, b, ta, tb });
    }
  }
  const flip = (shape: number[], transpose: boolean) =>
    transpose ? [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]] : shape;

  it.each(cases)('a $a b $b transposeA $ta transposeB $tb matches cpu', async ({ a, b, ta, tb }) => {
    const { cpu, wasm } = await onBothBackends(() => [
      tf.matMul(randomTensor(flip(a, ta), 3), randomTensor(flip(b, tb), 4), ta, tb),
    ]);
    expectClose(cpu, wasm, 'matMul');
  });

  it('a weight matrix used again (packed by the backend the first time) still gives the right product', async () => {
    const { cpu, wasm } = await onBothBackends(() => {
      const weights = randomTensor([300, 80], 8);
      return [1, 2, 3].map((seed) => tf.matMul(randomTensor([6, 300], seed), weights));
    });
    expectClose(cpu, wasm, 'matMul with the same b three times');
  });

  it('fused matMul with bias and relu matches cpu for every transpose combination', async () => {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const { cpu, wasm } = await onBothBackends(() => [
          tf.fused.matMul({
            a: randomTensor(ta ? [30, 20] : [20, 30], 5),
            b: randomTensor(tb ? [25, 30] : [30, 25], 6),
            transposeA: ta,
            transposeB: tb,
            bias: randomTensor([25], 7),
            activation: 'relu',
          }),
        ]);
        expectClose(cpu, wasm, `fused matMul ta=${ta} tb=${tb}`);
      }
    }
  });
});

describe('convolution gradients', () => {
  const cases: { x: number[]; filter: number[]; stride: number; pad: 'same' | 'valid' }[] = [];
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      cases.push({ x: [2, 9, 11, 3], filter: [3, 3, 3, 4], stride, pad });
      cases.push({ x: [3, 8, 8, 1], filter: [3, 3, 1, 8], stride, pad });
      cases.push({ x: [1, 7, 6, 5], filter: [2, 4, 5, 2], stride, pad });
    }
  }
  cases.push({ x: [2, 10, 10, 2], filter: [3, 3, 2, 3], stride: 3, pad: 'valid' });
  // Batches big enough that the filter gradient is summed over several row chunks.
  cases.push({ x: [40, 30, 30, 2], filter: [3, 3, 2, 3], stride: 1, pad: 'valid' });
  cases.push({ x: [40, 28, 28, 1], filter: [5, 5, 1, 4], stride: 1, pad: 'same' }); // one channel: 3 chunks of 15 images
  cases.push({ x: [100, 25, 25, 3], filter: [5, 5, 3, 2], stride: 2, pad: 'same' });

  it.each(cases)('x $x filter $filter stride $stride $pad: dx and dW match cpu', async ({ x, filter, stride, pad }) => {
    const { cpu, wasm } = await onBothBackends(() => {
      const input = randomTensor(x, 11) as tf.Tensor4D;
      const weights = randomTensor(filter, 12) as tf.Tensor4D;
      const outShape = tf.conv2d(input, weights, stride, pad).shape;
      const upstream = randomTensor(outShape, 13);
      return tf.grads((a: tf.Tensor, w: tf.Tensor) =>
        tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, stride, pad).mul(upstream).sum(),
      )([input, weights]);
    });
    expectClose(cpu, wasm, 'conv2d grads');
  });

  it('fused conv2d with bias (what tf.layers uses) has gradients that match cpu', async () => {
    for (const activation of ['linear', 'relu'] as const) {
      const { cpu, wasm } = await onBothBackends(() => {
        const input = randomTensor([3, 9, 9, 2], 14) as tf.Tensor4D;
        const weights = randomTensor([3, 3, 2, 5], 15) as tf.Tensor4D;
        const bias = randomTensor([5], 16);
        const upstream = randomTensor([3, 5, 5, 5], 17);
        return tf.grads((a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
          tf.fused
            .conv2d({ x: a as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 'same', bias: b, activation })
            .mul(upstream)
            .sum(),
        )([input, weights, bias]);
      });
      expectClose(cpu, wasm, `fused conv2d (${activation}) grads`);
    }
  });

  it('refuses NCHW data with a message naming the kernel', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 2, 5, 5]);
    const dy = tf.zeros([1, 3, 3, 3]);
    expect(() =>
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3] },
      ),
    ).toThrow(/Conv2DBackpropFilter supports only dataFormat 'NHWC'/);
    tf.dispose([x, dy]);
  });
});

describe('MaxPoolGrad', () => {
  const cases = [
    { x: [2, 8, 8, 3], size: 2, stride: 2, pad: 'valid' as const },
    { x: [2, 7, 9, 4], size: 3, stride: 2, pad: 'same' as const },
    { x: [1, 6, 6, 2], size: 3, stride: 1, pad: 'same' as const }, // overlapping windows
    { x: [1, 7, 7, 1], size: 2, stride: 2, pad: 'valid' as const }, // last row/column unused
    { x: [3, 8, 6, 5], size: 2, stride: 2, pad: 'same' as const }, // 2x2 windows, the fast path
    { x: [2, 7, 5, 3], size: 2, stride: 2, pad: 'same' as const }, // 2x2 with a padded last row/column
  ];
  it.each(cases)('x $x pool $size stride $stride $pad matches cpu', async ({ x, size, stride, pad }) => {
    const { cpu, wasm } = await onBothBackends(() => {
      const input = randomTensor(x, 21) as tf.Tensor4D;
      const upstream = randomTensor(tf.maxPool(input, size, stride, pad).shape, 22);
      return [tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, size, stride, pad).mul(upstream).sum())(input)];
    });
    expectClose(cpu, wasm, 'maxPool grad');
  });

  it('gives a tied window its gradient once, at the first maximum (relu zeros)', async () => {
    const { cpu, wasm } = await onBothBackends(() => {
      const input = randomTensor([2, 6, 6, 3], 23).relu() as tf.Tensor4D; // many all-zero windows
      const upstream = randomTensor([2, 3, 3, 3], 24);
      return [tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid').mul(upstream).sum())(input)];
    });
    expectClose(cpu, wasm, 'maxPool grad with ties');
    const total = (values: Float32Array) => values.reduce((s, v) => s + Math.abs(v), 0);
    expect(total(wasm[0].values)).toBeCloseTo(total(cpu[0].values), 3);
  });
});

describe('reductions, tiling and copies', () => {
  const reductions: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
    { shape: [20, 7, 7, 5], axis: [0, 1, 2], keepDims: false }, // bias gradient: leading axes
    { shape: [20, 7, 7, 5], axis: [2, 0, 1], keepDims: true },
    { shape: [300, 3], axis: 0, keepDims: false },
    { shape: [4, 5, 6], axis: [1], keepDims: false }, // not leading: the backend's kernel
    { shape: [4, 5, 6], axis: [0, 2], keepDims: true },
    { shape: [4, 5, 6], axis: [0, 1, 2], keepDims: false },
  ];
  it.each(reductions)('sum and mean of $shape over $axis (keepDims $keepDims) match cpu', async ({ shape, axis, keepDims }) => {
    const { cpu, wasm } = await onBothBackends(() => {
      const x = randomTensor(shape, 51);
      return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)];
    });
    expectClose(cpu, wasm, 'sum/mean');
  });

  const tiles: { shape: number[]; reps: number[] }[] = [
    { shape: [1, 1, 1, 5], reps: [3, 4, 2, 1] }, // batch norm's gradient
    { shape: [2, 3], reps: [2, 3] },
    { shape: [3], reps: [4] },
    { shape: [2, 1, 3], reps: [1, 5, 2] },
  ];
  it.each(tiles)('tile $shape by $reps matches cpu for float32, int32 and bool', async ({ shape, reps }) => {
    const { cpu, wasm } = await onBothBackends(() => {
      const x = randomTensor(shape, 52);
      return [
        tf.tile(x, reps),
        tf.tile(x.mul(100).cast('int32'), reps).cast('float32'),
        tf.tile(x.greater(0), reps).cast('float32'),
      ];
    });
    expectClose(cpu, wasm, 'tile');
  });

  const slices: { shape: number[]; begin: number[]; size: number[] }[] = [
    { shape: [50, 12], begin: [10, 0], size: [20, 12] }, // a batch of rows: one contiguous copy
    { shape: [50, 12], begin: [3, 2], size: [5, -1] },
    { shape: [6, 7, 8], begin: [1, 2, 3], size: [4, 3, 2] },
    { shape: [3, 4, 5, 6], begin: [0, 1, 0, 2], size: [3, 2, 5, 3] },
    { shape: [2, 3, 4, 5, 6], begin: [1, 0, 1, 2, 0], size: [1, 3, 2, 3, 6] },
  ];
  it.each(slices)('slice of $shape from $begin size $size matches cpu for float32, int32 and bool', async ({ shape, begin, size }) => {
    const { cpu, wasm } = await onBothBackends(() => {
      const x = randomTensor(shape, 53);
      return [
        tf.slice(x, begin, size),
        tf.slice(x.mul(100).cast('int32'), begin, size).cast('float32'),
        tf.slice(x.greater(0), begin, size).cast('float32'),
      ];
    });
    expectClose(cpu, wasm, 'slice');
  });

  it('a clone outlives the tensor it was cloned from (shared data is reference counted)', async () => {
    await tf.setBackend('wasm');
    const original = tf.tensor([1, 2, 3]);
    const copy = tf.clone(original);
    const sameType = original.cast('float32');
    original.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(sameType.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([copy, sameType]);
  });
});

describe('a small model trains the same way on wasm as on cpu', () => {
  it('gradients of a CNN loss (conv, relu, max-pool, dense) agree', async () => {
    const { cpu, wasm } = await onBothBackends(() => {
      const images = randomTensor([8, 12, 12, 1], 31).abs() as tf.Tensor4D;
      const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
      const w1 = randomTensor([3, 3, 1, 4], 32).mul(0.5);
      const b1 = randomTensor([4], 33).mul(0.1);
      const w2 = randomTensor([3, 3, 4, 6], 34).mul(0.3);
      const w3 = randomTensor([5 * 5 * 6, 16], 35).mul(0.2);
      const b3 = randomTensor([16], 36).mul(0.1);
      const w4 = randomTensor([16, 10], 37).mul(0.3);
      const loss = (c1: tf.Tensor, cb1: tf.Tensor, c2: tf.Tensor, d1: tf.Tensor, db1: tf.Tensor, d2: tf.Tensor) => {
        let h = tf.relu(tf.conv2d(images, c1 as tf.Tensor4D, 1, 'same').add<tf.Tensor4D>(cb1));
        h = tf.relu(tf.conv2d(h, c2 as tf.Tensor4D, 1, 'valid')); // [8, 10, 10, 6]
        h = tf.maxPool(h, 2, 2, 'valid'); // [8, 5, 5, 6]
        const flat = h.reshape([8, 5 * 5 * 6]);
        const hidden = tf.fused.matMul({ a: flat, b: d1, bias: db1, activation: 'relu' });
        return tf.losses.softmaxCrossEntropy(labels, hidden.matMul(d2)) as tf.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(loss)([w1, b1, w2, w3, b3, w4]);
      return [value, ...grads];
    });
    expectClose(cpu, wasm, 'CNN loss and gradients');
  });

  it('gradients through batch normalisation and seeded dropout agree', async () => {
    const { cpu, wasm } = await onBothBackends(() => {
      const images = randomTensor([6, 10, 10, 2], 61) as tf.Tensor4D;
      const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32'), 10);
      const vars = [
        randomTensor([3, 3, 2, 5], 62).mul(0.4),
        randomTensor([5], 63).add(1),
        randomTensor([5], 64).mul(0.1),
        randomTensor([4 * 4 * 5, 10], 65).mul(0.2),
      ];
      const { value, grads } = tf.valueAndGrads((w: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, dense: tf.Tensor) => {
        const conv = tf.conv2d(images, w as tf.Tensor4D, 1, 'valid'); // [6, 8, 8, 5]
        const { mean, variance } = tf.moments(conv, [0, 1, 2]);
        const normed = tf.batchNorm(conv, mean, variance, beta, gamma, 1e-3);
        const pooled = tf.maxPool(tf.relu(normed) as tf.Tensor4D, 2, 2, 'valid'); // [6, 4, 4, 5]
        const dropped = tf.dropout(pooled, 0.25, undefined, 7);
        return tf.losses.softmaxCrossEntropy(labels, dropped.reshape([6, 4 * 4 * 5]).matMul(dense)) as tf.Scalar;
      })(vars);
      return [value, ...grads];
    });
    expectClose(cpu, wasm, 'batch-norm + dropout loss and gradients');
  });

  it('gradients of the seed MLP loss (784-500-10 shape, smaller batch) agree', async () => {
    const { cpu, wasm } = await onBothBackends(() => {
      const images = randomTensor([16, 784], 41).abs();
      const labels = tf.oneHot(tf.tensor1d([...Array(16).keys()].map((i) => i % 10), 'int32'), 10);
      const vars = [randomTensor([784, 500], 42).mul(0.1), tf.zeros([500]), randomTensor([500, 10], 43).mul(0.1), tf.zeros([10])];
      const { value, grads } = tf.valueAndGrads((w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => {
        const logits = tf.relu(images.matMul(w1).add(b1)).matMul(w2).add(b2);
        return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
      })(vars);
      return [value, ...grads];
    });
    expectClose(cpu, wasm, 'MLP loss and gradients');
  });
});
