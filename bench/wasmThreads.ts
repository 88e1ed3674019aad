/**
 * Probe: tfjs-backend-wasm's threaded-SIMD binary in Node, the measurement behind issue 14's
 * "WASM threads" route (kept so the finding can be re-checked on another machine).
 *
 *   npx tsx bench/wasmThreads.ts [--threads N] [--fake-cores N] [--steps N]
 *
 * tfjs turns WASM_HAS_MULTITHREAD_SUPPORT off in Node and hands Emscripten's pthread workers
 * `blob:` URLs, which Node's Worker refuses. This probe writes the two scripts (the worker and the
 * module factory, with the bundle-scope names the factory refers to) to files instead, then times
 * a matrix product, a convolution and `cnn` training steps. It also shows why getThreadsCount()
 * says 1 on a 2-core machine: the backend sizes XNNPACK's pool as
 * min(requested, emscripten_num_logical_cores() / 2), and in Node that is os.cpus().length / 2
 * (it assumes two hyper-threads per core). --fake-cores N makes os.cpus() report N while the
 * backend initialises, which is the only way to get a pool larger than cores/2 without rebuilding.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { registerWasmTrainingKernels } from '../main/ml/wasmKernels.ts';
import { loadMnist } from '../main/ml/mnist.ts';
import { trainModel } from '../main/ml/trainer.ts';

const { values } = parseArgs({ options: { threads: { type: 'string' }, 'fake-cores': { type: 'string' }, steps: { type: 'string' }, plain: { type: 'boolean' } } });
const threads = Number(values.threads ?? 2);
const fakeCores = values['fake-cores'] === undefined ? null : Number(values['fake-cores']);
const dir = mkdtempSync(path.join(os.tmpdir(), 'wasm-threads-'));

if (!values.plain) {
  // Scripts handed to Emscripten as Blobs go to files, because Node's Worker cannot open blob: URLs.
  const NativeBlob = globalThis.Blob;
  const texts = new WeakMap<Blob, string>();
  let mainScript = '';
  class FileBlob extends NativeBlob {
    constructor(parts: string[], options?: { type?: string }) {
      super(parts, options);
      const text = parts.map(String).join('');
      texts.set(this, text);
      // The module factory travels to each worker as this Blob; the workers get its file instead.
      if (text.startsWith('var WasmBackendModuleThreadedSimd')) writeMainScript(text);
    }
  }
  const writeMainScript = (text: string) => {
    // The factory refers to names of the bundle it was cut from.
    mainScript = path.join(dir, 'main.js');
    const prelude =
      "var require$$0 = require('fs'), require$$1 = require('path'), require$$2 = require('worker_threads'), " +
      "require$$3 = require('perf_hooks'), require$$4 = require('os'), commonjsGlobal = globalThis, _scriptDir = undefined;\n";
    writeFileSync(mainScript, prelude + text);
  };
  globalThis.Blob = FileBlob as typeof Blob;
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = (blob: Blob) => {
    const text = texts.get(blob);
    if (text === undefined) return createObjectURL(blob);
    const file = path.join(dir, `worker-${Math.random().toString(36).slice(2)}.js`);
    // The worker imports the main script only when it is handed a string: give it the file.
    writeFileSync(file, text.replace('if(typeof e.data.urlOrBlob=="string")', 'if(true)').replace('importScripts(e.data.urlOrBlob)', `importScripts(${JSON.stringify(mainScript)})`));
    return file;
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
}

const require = createRequire(import.meta.url);
wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
const realCpus = os.cpus;
if (fakeCores !== null) os.cpus = () => Array.from({ length: fakeCores }, () => realCpus()[0]);
await tf.setBackend('wasm');
await tf.ready();
os.cpus = realCpus;
registerWasmTrainingKernels();
console.log(`binary: ${values.plain ? 'simd' : 'threaded-simd'}, requested ${threads}, os.cpus ${fakeCores ?? realCpus().length}, getThreadsCount() = ${wasm.getThreadsCount()}`);

function time(label: string, flop: number, fn: () => tf.Tensor, runs = 10): void {
  fn().dispose();
  const t = performance.now();
  for (let i = 0; i < runs; i++) {
    const out = fn();
    out.dataSync();
    out.dispose();
  }
  const ms = (performance.now() - t) / runs;
  console.log(`${label}: ${ms.toFixed(2)} ms, ${(flop / ms / 1e6).toFixed(1)} GFLOP/s`);
}

const a = tf.randomNormal([1024, 1024]);
const b = tf.randomNormal([1024, 1024]);
time('matMul 1024^3', 2 * 1024 ** 3, () => tf.matMul(a, b));
const x = tf.randomNormal([100, 14, 14, 32]);
const f = tf.randomNormal([5, 5, 32, 64]);
time('conv2d 100x14x14x32 * 5x5x32x64', 2 * 100 * 14 * 14 * 25 * 32 * 64, () => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'));

const steps = Number(values.steps ?? 30);
const data = await loadMnist();
const stamps: number[] = [];
await trainModel(data, { preset: 'cnn', runDir: path.join(dir, 'run'), steps: steps + 5, validate: false, checkpointEvery: 1e9 }, {
  onEvent: (e) => e.type === 'progress' && e.step > 5 && stamps.push(performance.now()),
});
console.log(`cnn training: ${(((stamps.length - 1) * 100 * 1000) / (stamps.at(-1)! - stamps[0])).toFixed(0)} samples/s [load ${os.loadavg()[0].toFixed(2)}]`);
process.exit(0);
