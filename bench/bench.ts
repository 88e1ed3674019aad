/**
 * `npm run bench`: how fast Digit Studio trains and predicts on this machine's backend.
 *
 *   npm run bench -- [--backend wasm|cpu|native] [--json] [--peer] [--peer-threads N] [--threads N] [--only LIST] [--repeat N] [--steps N] [--compare-tfjs] [--tfjs-ops]
 *
 * Measures training samples/s of `seed` and `cnn`, the time for the default preset to reach 98%
 * test accuracy from scratch, full test-set evaluation time, single-image prediction latency
 * (warm, decoding and preprocessing included), the "teach it your own digits" fine-tune targets
 * (bench/fineTune.ts: accuracy on other pictures of a style MNIST lacks, MNIST kept, time), how
 * long a workspace of 200 runs takes to list (a check: it fails the bench above one second) and the
 * process's peak resident memory. `--only cnn-target` (not in the default list: 10-25 minutes of
 * every core) times `cnn` from scratch to 99.3% test accuracy, printing each epoch's. With
 * --peer it also trains the same architectures with PyTorch (bench/peer, set-up in the README),
 * alternating with our own measurement round by round, and prints each round's ratio and their
 * median: these machines are shared and noisy, so only ratios taken side by side mean much.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, link, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { isBackendName, selectBackend } from '../main/ml/backend.ts';
import { PIXELS } from '../main/ml/dataset.ts';
import { evaluateModel } from '../main/ml/evaluate.ts';
import { defaultMnistDir, loadMnist } from '../main/ml/mnist.ts';
import { DEFAULT_PRESET, PRESETS, type PresetName } from '../main/ml/models.ts';
import { predictImages } from '../main/ml/predict.ts';
import { renderMnistDigitPhoto } from '../test/testImages.ts';
import { defaultTrainingThreads } from '../main/ml/parallelGradients.ts';
import { trainModel } from '../main/ml/trainer.ts';
import { FINE_TUNE_TARGETS, measureFineTune, trainDefaultModel } from './fineTune.ts';
import { median } from './measure.ts';
import { listRuns, runsDir } from '../main/ml/runList.ts';
import { trainRun } from '../main/ml/runs.ts';

const TARGET_ACCURACY = 0.98;
const MAX_EPOCHS_TO_TARGET = 30;
/** Issue 14: `cnn` from scratch to this test accuracy in under 8 minutes (`--only cnn-target`). */
const CNN_TARGET_ACCURACY = 0.993;
const WARMUP_STEPS = 10;
const LATENCY_RUNS = 60;
/** The PyTorch peers, one per preset we compare (same architecture and recipe). */
const PEER_SCRIPTS: Partial<Record<PresetName, string>> = {
  seed: path.resolve(import.meta.dirname, 'peer/torch_seed_mlp.py'),
  cnn: path.resolve(import.meta.dirname, 'peer/torch_cnn.py'),
};
/** Debian's Python (python3-torch); another python3 on PATH may lack torch. */
const PEER_PYTHON = '/usr/bin/python3';
/** Steps per peer epoch: two such epochs, the second (warm) one timed. */
const PEER_STEPS: Partial<Record<PresetName, number>> = { seed: 150, cnn: 30 };
/** The run list of a workspace this large must open within RUN_LIST_BUDGET_MS. */
const RUN_LIST_RUNS = 200;
const RUN_LIST_BUDGET_MS = 1000;


export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Options {
  json: boolean;
  peer: boolean;
  only: Set<string>;
  repeat: number;
  steps: number;
  /** Threads the PyTorch peer may use (default: every core). */
  peerThreads: number;
  /** Threads our training uses (default: defaultTrainingThreads for the backend). */
  threads: number;
  /** Also measure the MLPs through tfjs's ops (fused step off), round by round: the kernel's gain. */
  compareTfjs: boolean;
  /** Train through the fused steps (default) or, with --tfjs-ops, through tfjs's ops only. */
  fused: boolean;
}

/** CPU time of each of this process's threads so far, in ms, by thread id (Linux; empty elsewhere). */
function threadCpuMs(): Map<number, number> {
  const times = new Map<number, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      times.set(Number(tid), ns / 1e6);
    }
  } catch {
    // No /proc: no per-thread figures.
  }
  return times;
}

interface Throughput {
  /** Wall-clock samples/s. */
  samplesPerSecond: number;
  /**
   * Samples/s if every thread had a core to itself: batch / the busiest thread's CPU time per
   * step (this thread, or the busiest other: a gradient worker). On a busy machine the wall
   * clock mostly measures the other processes; CPU time far less so.
   */
  cpuBoundSamplesPerSecond: number | null;
  /** CPU ms per step of this thread and of the busiest other thread. */
  mainCpuMsPerStep: number | null;
  workerCpuMsPerStep: number | null;
}

/** Steady-state training samples/s of a preset: `steps` steps after a warm-up, full training set. */
async function trainingThroughput(
  preset: PresetName,
  data: Awaited<ReturnType<typeof loadMnist>>,
  tmp: string,
  steps: number,
  threads: number,
  fused = true,
): Promise<Throughput> {
  const times: number[] = [];
  let cpuBefore = new Map<number, number>();
  let cpuAfter = new Map<number, number>();
  const last = WARMUP_STEPS + steps;
  const result = await trainModel(
    data,
    { preset, runDir: path.join(tmp, `speed-${preset}-${Date.now()}`), steps: last, validate: false, checkpointEvery: 1e9, threads, fused },
    {
      onEvent: (e) => {
        if (e.type !== 'progress' || e.step < WARMUP_STEPS) return;
        times.push(performance.now());
        if (e.step === WARMUP_STEPS) cpuBefore = threadCpuMs();
        if (e.step === last) cpuAfter = threadCpuMs();
      },
    },
  );
  result.model.dispose();
  const batch = PRESETS[preset].recipe.batchSize;
  const samplesPerSecond = ((times.length - 1) * batch * 1000) / (times.at(-1)! - times[0]);
  const used = [...cpuAfter].map(([tid, ms]) => ({ tid, perStep: (ms - (cpuBefore.get(tid) ?? 0)) / (times.length - 1) }));
  const main = used.find((t) => t.tid === process.pid)?.perStep ?? null;
  const others = used.filter((t) => t.tid !== process.pid).map((t) => t.perStep);
  const worker = threads > 1 && others.length ? Math.max(...others) : null;
  const busiest = main === null ? null : Math.max(main, worker ?? 0);
  return {
    samplesPerSecond,
    cpuBoundSamplesPerSecond: busiest ? (batch * 1000) / busiest : null,
    mainCpuMsPerStep: main,
    workerCpuMsPerStep: worker,
  };
}

/**
 * Wall time from "train" to `target` test accuracy for `preset` from scratch, checked after every
 * epoch (the bench's own test evaluations excluded; the recipe is never tuned on them). `onEpoch`
 * hears each epoch's test accuracy and the seconds so far.
 */
async function timeToTarget(
  tmp: string,
  threads: number | 'auto',
  fused: boolean,
  preset: PresetName = DEFAULT_PRESET,
  target = TARGET_ACCURACY,
  maxEpochs = MAX_EPOCHS_TO_TARGET,
  onEpoch: (epoch: number, accuracy: number, seconds: number) => void = () => {},
): Promise<{ seconds: number | null; epochs: number; accuracy: number; evalSeconds: number }> {
  const started = performance.now();
  const data = await loadMnist();
  const controller = new AbortController();
  let excluded = 0;
  let reached: number | null = null;
  let epochs = 0;
  let accuracy = 0;
  const result = await trainModel(
    data,
    { preset, runDir: path.join(tmp, `target-${Date.now()}`), epochs: maxEpochs, validate: false, checkpointEvery: 1e9, threads, fused },
    {
      signal: controller.signal,
      onEpochEnd: (epoch, model) => {
        const t = performance.now();
        accuracy = evaluateModel(model, data.test).accuracy;
        epochs = epoch;
        onEpoch(epoch, accuracy, (t - started - excluded) / 1000);
        if (accuracy >= target && reached === null) {
          reached = (t - started - excluded) / 1000;
          controller.abort();
        }
        excluded += performance.now() - t;
      },
    },
  );
  result.model.dispose();
  return { seconds: reached, epochs, accuracy, evalSeconds: excluded / 1000 / Math.max(1, epochs) };
}

interface PeerRun {
  samplesPerSecond: number;
  /** Samples per second of the peer's CPU time (all its threads): load-robust with one thread. */
  samplesPerCpuSecond: number | null;
  threads: number;
}

/**
 * Trains `preset`'s PyTorch twin for two short epochs on `threads` threads and returns the second
 * (warm) epoch's samples/s, or null when the peer cannot run (its reason goes to standard error).
 */
function runPeer(preset: PresetName, dataDir: string, threads: number): Promise<PeerRun | null> {
  const script = PEER_SCRIPTS[preset];
  if (!script || !existsSync(PEER_PYTHON)) return Promise.resolve(null);
  // OpenBLAS reads these to pick kernels and block sizes; the values set on these machines slow
  // it down, so the peer runs without them (this command only).
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const args = [script, dataDir, '2', String(threads), String(PEER_STEPS[preset])];
  return new Promise((resolve) => {
    execFile(PEER_PYTHON, args, { env, timeout: 600_000 }, (error, stdout, stderr) => {
      if (error) {
        console.error(`peer ${preset} failed: ${stderr.split('\n').filter(Boolean).at(-1) ?? error.message}`);
        resolve(null);
        return;
      }
      const epochs = [...stdout.matchAll(/samples\/s (\d+) epoch_s ([\d.]+)(?: cpu_s ([\d.]+))?/g)];
      const used = /threads (\d+)/.exec(stdout);
      const last = epochs.at(-1);
      if (!last) return resolve(null);
      const samplesPerSecond = Number(last[1]);
      const samplesPerCpuSecond = last[3] ? (samplesPerSecond * Number(last[2])) / Number(last[3]) : null;
      resolve({ samplesPerSecond, samplesPerCpuSecond, threads: used ? Number(used[1]) : threads });
    });
  });
}

/** The 1-minute load average and the core count, to say how busy the machine was. */
function machineLoad(): string {
  return `load average ${os.loadavg()[0].toFixed(2)} on ${os.availableParallelism()} cores`;
}

/** Copies a run folder: JSON files copied, binaries hard-linked (the list never reads them). */
async function cloneRun(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) await cloneRun(source, path.join(to, entry.name));
    else if (entry.name.endsWith('.bin')) await link(source, path.join(to, entry.name));
    else await cp(source, path.join(to, entry.name));
  }
}

/**
 * Lists a workspace of RUN_LIST_RUNS real run folders (one trained run, finished, cloned; every
 * tenth one stopped halfway without a model, one damaged): milliseconds per listing, the first
 * (cold) one and the median of the rest.
 */
async function runListTiming(data: Awaited<ReturnType<typeof loadMnist>>, tmp: string, repeat: number): Promise<{ coldMs: number; medianMs: number; listed: number }> {
  const workspace = path.join(tmp, 'run-list');
  const template = path.join(tmp, 'run-template');
  await trainRun(
    { ...data, test: { ...data.test, count: 1000, images: data.test.images.subarray(0, 1000 * PIXELS), labels: data.test.labels.subarray(0, 1000) } },
    { preset: DEFAULT_PRESET, runDir: template, steps: 20, limit: 1000, batchSize: 100 },
  );
  for (let i = 0; i < RUN_LIST_RUNS; i++) {
    const dir = path.join(runsDir(workspace), `run-${String(i).padStart(3, '0')}`);
    await cloneRun(template, dir);
    if (i % 10 === 5) await rm(path.join(dir, 'model'), { recursive: true }); // an interrupted run: history is read instead
  }
  await writeFile(path.join(runsDir(workspace), 'run-000', 'run.json'), '{"half');
  const times: number[] = [];
  let listed = 0;
  for (let r = 0; r < Math.max(5, repeat + 1); r++) {
    const t = performance.now();
    listed = (await listRuns(workspace)).length;
    times.push(performance.now() - t);
  }
  return { coldMs: times[0], medianMs: median(times.slice(1)), listed };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string' },
      json: { type: 'boolean' },
      peer: { type: 'boolean' },
      only: { type: 'string' },
      repeat: { type: 'string' },
      steps: { type: 'string' },
      'peer-threads': { type: 'string' },
      threads: { type: 'string' },
      'compare-tfjs': { type: 'boolean' },
      'tfjs-ops': { type: 'boolean' },
    },
  });
  if (values.backend !== undefined && !isBackendName(values.backend)) throw new Error('--backend must be native, wasm or cpu');
  const options: Options = {
    json: values.json === true,
    peer: values.peer === true,
    only: new Set((values.only ?? 'seed,cnn,target,eval,latency,finetune,runs').split(',')),
    repeat: Number(values.repeat ?? 3),
    steps: Number(values.steps ?? 100),
    peerThreads: Number(values['peer-threads'] ?? os.availableParallelism()),
    threads: 1,
    compareTfjs: values['compare-tfjs'] === true,
    fused: values['tfjs-ops'] !== true,
  };
  const backend = await selectBackend(values.backend as never);
  options.threads = Number(values.threads ?? defaultTrainingThreads(backend.name));
  const log = (message: string) => console.error(message);
  log(`Backend: ${backend.name} (${backend.reason})`);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-bench-'));
  const data = await loadMnist();
  const report: Record<string, unknown> = {
    backend: backend.name,
    date: new Date().toISOString(),
    cores: os.availableParallelism(),
    trainingCores: options.threads,
  };
  log(`Machine: ${machineLoad()}`);

  try {
    for (const preset of ['seed', 'cnn', 'fast'] as const) {
      if (!options.only.has(preset)) continue;
      const runs: number[] = [];
      const cpuBound: number[] = [];
      const peerRuns: number[] = [];
      const ratios: number[] = [];
      const cpuBoundRatios: number[] = [];
      const loads: number[] = [];
      // Ours and the peer's alternate round by round, so both see the same disturbance.
      for (let r = 0; r < options.repeat; r++) {
        loads.push(os.loadavg()[0]);
        const ours = await trainingThroughput(preset, data, tmp, preset === 'cnn' ? Math.ceil(options.steps / 2) : options.steps, options.threads, options.fused);
        runs.push(ours.samplesPerSecond);
        if (ours.cpuBoundSamplesPerSecond) cpuBound.push(ours.cpuBoundSamplesPerSecond);
        let line = `${preset}: ${Math.round(ours.samplesPerSecond)} samples/s`;
        if (ours.mainCpuMsPerStep !== null) {
          line += ` (CPU per step: this thread ${ours.mainCpuMsPerStep.toFixed(1)} ms`;
          line += ours.workerCpuMsPerStep !== null ? `, busiest worker ${ours.workerCpuMsPerStep.toFixed(1)} ms` : '';
          line += `; a core each: ${Math.round(ours.cpuBoundSamplesPerSecond ?? 0)} samples/s)`;
        }
        if (options.compareTfjs && preset !== 'cnn') {
          const tfjs = await trainingThroughput(preset, data, tmp, options.steps, options.threads, false);
          line += `; through tfjs ops: ${Math.round(tfjs.samplesPerSecond)} samples/s (CPU per step: this thread ${tfjs.mainCpuMsPerStep?.toFixed(1)} ms`;
          line += tfjs.workerCpuMsPerStep !== null ? `, busiest worker ${tfjs.workerCpuMsPerStep.toFixed(1)} ms)` : ')';
          line += `, fused / tfjs ${(ours.samplesPerSecond / tfjs.samplesPerSecond).toFixed(2)}`;
        }
        const peer = options.peer ? await runPeer(preset, defaultMnistDir(), options.peerThreads) : null;
        if (peer) {
          peerRuns.push(peer.samplesPerSecond);
          ratios.push(runs.at(-1)! / peer.samplesPerSecond);
          // Load-robust: ours with a core per thread against the peer's samples per CPU second
          // times our thread count, i.e. the peer scaling perfectly to as many cores (its best
          // case: a lower bound for our ratio). Exact per core with --peer-threads 1 (no spinning).
          if (ours.cpuBoundSamplesPerSecond && peer.samplesPerCpuSecond) {
            cpuBoundRatios.push(ours.cpuBoundSamplesPerSecond / (peer.samplesPerCpuSecond * options.threads));
          }
          report.peerThreads = peer.threads;
          line += `, PyTorch ${peer.samplesPerSecond} samples/s (${peer.threads} threads), ratio ${ratios.at(-1)!.toFixed(2)}`;
          if (peer.samplesPerCpuSecond) line += `; PyTorch ${Math.round(peer.samplesPerCpuSecond)} samples per CPU second`;
        }
        log(`${line} [${machineLoad()}]`);
      }
      report[`${preset}SamplesPerSecond`] = Math.round(median(runs));
      report[`${preset}SamplesPerSecondRuns`] = runs.map(Math.round);
      report[`${preset}CpuBoundSamplesPerSecond`] = cpuBound.length ? Math.round(median(cpuBound)) : null;
      if (options.peer) {
        report[`${preset}PeerSamplesPerSecond`] = peerRuns.length ? Math.round(median(peerRuns)) : null;
        report[`${preset}PeerRuns`] = peerRuns;
        report[`${preset}ToPeerRatio`] = ratios.length ? Number(median(ratios).toFixed(3)) : null;
        report[`${preset}ToPeerRatios`] = ratios.map((x) => Number(x.toFixed(3)));
        report[`${preset}CpuBoundToPeerRatio`] = cpuBoundRatios.length ? Number(median(cpuBoundRatios).toFixed(3)) : null;
        if (!peerRuns.length) log(`peer ${preset}: not run (install Debian's python3-torch: see the README's "Benchmark")`);
      }
      report[`${preset}LoadAverage`] = loads.map((x) => Number(x.toFixed(2)));
    }
    let model: tf.LayersModel | null = null;
    if (options.only.has('target')) {
      // As the app and the CLI train it: the preset's own run (its default epochs, which 'auto'
      // threads are chosen for), stopped at 98%; 'auto' threads unless --threads is given.
      const epochs = PRESETS[DEFAULT_PRESET].recipe.defaultEpochs ?? MAX_EPOCHS_TO_TARGET;
      const t = await timeToTarget(tmp, values.threads === undefined ? 'auto' : options.threads, options.fused, DEFAULT_PRESET, TARGET_ACCURACY, epochs);
      report.defaultPreset = DEFAULT_PRESET;
      report.secondsTo98 = t.seconds === null ? null : Number(t.seconds.toFixed(1));
      report.epochsTo98 = t.epochs;
      report.accuracyAtStop = t.accuracy;
      log(`${DEFAULT_PRESET}: ${t.seconds === null ? 'did not reach' : `reached`} 98% after ${t.epochs} epochs (${t.accuracy}), ${t.seconds?.toFixed(1)} s`);
    }
    if (options.only.has('cnn-target')) {
      // Issue 14's target: 99.3% test accuracy from scratch in under 8 minutes. About 10-25 minutes
      // of every core, so only when asked for (--only cnn-target).
      const epochsLog: { epoch: number; accuracy: number; seconds: number; load: number }[] = [];
      const t = await timeToTarget(tmp, options.threads, options.fused, 'cnn', CNN_TARGET_ACCURACY, PRESETS.cnn.recipe.defaultEpochs ?? 8, (epoch, accuracy, seconds) => {
        epochsLog.push({ epoch, accuracy, seconds: Number(seconds.toFixed(1)), load: Number(os.loadavg()[0].toFixed(2)) });
        log(`cnn epoch ${epoch}: test accuracy ${(accuracy * 100).toFixed(2)}% at ${seconds.toFixed(1)} s [${machineLoad()}]`);
      });
      report.cnnSecondsTo993 = t.seconds === null ? null : Number(t.seconds.toFixed(1));
      report.cnnEpochs = epochsLog;
      log(`cnn: ${t.seconds === null ? 'did not reach' : 'reached'} 99.3% after ${t.epochs} epochs (${t.accuracy}), ${t.seconds?.toFixed(1)} s`);
    }
    if (options.only.has('eval') || options.only.has('latency')) {
      // A trained model for the remaining measurements: one quick epoch of the default preset.
      const trained = await trainModel(data, { preset: DEFAULT_PRESET, runDir: path.join(tmp, 'eval'), epochs: 1, validate: false, checkpointEvery: 1e9 });
      model = trained.model;
    }
    if (model && options.only.has('eval')) {
      const times: number[] = [];
      for (let r = 0; r < Math.max(3, options.repeat); r++) {
        const t = performance.now();
        evaluateModel(model, data.test);
        times.push((performance.now() - t) / 1000);
      }
      report.evaluationSeconds = Number(median(times).toFixed(3));
      log(`evaluation of 10,000 test images: ${median(times).toFixed(3)} s`);
    }
    if (model && options.only.has('latency')) {
      const file = path.join(tmp, 'digit.png');
      await writeFile(file, await renderMnistDigitPhoto(data.test.images.subarray(0, PIXELS), { format: 'png', width: 640, height: 480 }));
      const times: number[] = [];
      for (let r = 0; r < LATENCY_RUNS + 5; r++) {
        const t = performance.now();
        await predictImages(model, [file]);
        if (r >= 5) times.push(performance.now() - t);
      }
      report.predictionMsMedian = Number(median(times).toFixed(2));
      report.predictionMsP95 = Number(percentile(times, 95).toFixed(2));
      log(`single-image prediction (640x480 PNG): median ${median(times).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms`);
    }
    model?.dispose();
    if (options.only.has('finetune')) {
      const base = await trainDefaultModel(data, path.join(tmp, 'finetune-base'));
      const f = await measureFineTune(data, base, tmp, options.repeat, log);
      base.model.dispose();
      report.fineTune = f;
      report.fineTuneSecondsMedian = Number(median(f.seconds).toFixed(1));
    }
    if (options.only.has('runs')) {
      const t = await runListTiming(data, tmp, options.repeat);
      report.runListRuns = t.listed;
      report.runListColdMs = Math.round(t.coldMs);
      report.runListMs = Math.round(t.medianMs);
      report.runListWithinBudget = t.listed === RUN_LIST_RUNS && t.coldMs < RUN_LIST_BUDGET_MS;
      log(`run list of ${t.listed} runs: first ${t.coldMs.toFixed(0)} ms, then median ${t.medianMs.toFixed(0)} ms (budget ${RUN_LIST_BUDGET_MS} ms)`);
      if (!report.runListWithinBudget) {
        log(`FAIL: a workspace of ${RUN_LIST_RUNS} runs must list all of them in under ${RUN_LIST_BUDGET_MS} ms`);
        process.exitCode = 1;
      }
    }
    report.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }

  if (options.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  const rows: [string, string][] = [
    ['backend', String(report.backend)],
    ['cores (machine / used for training / PyTorch threads)', `${report.cores} / ${report.trainingCores} / ${report.peerThreads ?? '-'}`],
    ['seed training samples/s (median)', String(report.seedSamplesPerSecond ?? '-')],
    ['seed samples/s with a core per thread (CPU time)', String(report.seedCpuBoundSamplesPerSecond ?? '-')],
    ['seed PyTorch peer samples/s (median)', String(report.seedPeerSamplesPerSecond ?? '-')],
    ['seed / PyTorch (median of rounds)', String(report.seedToPeerRatio ?? '-')],
    ['seed / PyTorch, CPU time (peer scaled perfectly to our cores)', String(report.seedCpuBoundToPeerRatio ?? '-')],
    ['cnn training samples/s (median)', String(report.cnnSamplesPerSecond ?? '-')],
    ['cnn samples/s with a core per thread (CPU time)', String(report.cnnCpuBoundSamplesPerSecond ?? '-')],
    ['cnn PyTorch peer samples/s (median)', String(report.cnnPeerSamplesPerSecond ?? '-')],
    ['cnn / PyTorch (median of rounds)', String(report.cnnToPeerRatio ?? '-')],
    ['cnn / PyTorch, CPU time (peer scaled perfectly to our cores)', String(report.cnnCpuBoundToPeerRatio ?? '-')],
    [`time to 98% test accuracy (${DEFAULT_PRESET})`, report.secondsTo98 != null ? `${report.secondsTo98} s (${report.epochsTo98} epochs)` : '-'],
    ['evaluation, 10,000 test images', report.evaluationSeconds != null ? `${report.evaluationSeconds} s` : '-'],
    ['prediction latency median / p95', report.predictionMsMedian != null ? `${report.predictionMsMedian} / ${report.predictionMsP95} ms` : '-'],
    ...fineTuneRows(report.fineTune as Awaited<ReturnType<typeof measureFineTune>> | undefined),
    [
      `run list, ${RUN_LIST_RUNS} runs (first / median)`,
      report.runListMs != null ? `${report.runListColdMs} / ${report.runListMs} ms (${report.runListWithinBudget ? 'within' : 'OVER'} ${RUN_LIST_BUDGET_MS} ms)` : '-',
    ],
    ['peak resident memory', `${report.peakRssMB} MB`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
}

await main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});

function fineTuneRows(f: Awaited<ReturnType<typeof measureFineTune>> | undefined): [string, string][] {
  if (!f) return [];
  const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
  const verdict = (ok: boolean) => (ok ? 'target met' : 'TARGET MISSED');
  return [
    [
      `fine-tune on ${f.pictures} pictures: held-out (${f.heldOut})`,
      `${pct(f.before.heldOutAccuracy)} -> ${pct(f.after.heldOutAccuracy)} (${verdict(f.pass.heldOut)}: ${pct(FINE_TUNE_TARGETS.heldOutAccuracy, 0)}+)`,
    ],
    [
      'fine-tune: MNIST test accuracy',
      `${pct(f.before.mnistAccuracy, 2)} -> ${pct(f.after.mnistAccuracy, 2)} (${verdict(f.pass.mnist)}: within ${FINE_TUNE_TARGETS.mnistDrop * 100} points)`,
    ],
    [
      'fine-tune wall time (median; folder read included)',
      `${median(f.seconds).toFixed(1)} s over ${f.steps} steps (${verdict(f.pass.time)}: under ${FINE_TUNE_TARGETS.seconds} s)`,
    ],
  ];
}
