/**
 * The training worker: a child process that trains one run and exits. It speaks the protocol of
 * trainingProtocol.ts over whichever channel it was started with: Electron's `process.parentPort`
 * (utilityProcess.fork) or Node's `process.send` (child_process.fork). Pausing parks the trainer
 * in `beforeStep`; stopping aborts it, which writes a checkpoint. A finished or stopped run is exported to
 * `<runDir>/model` with its test metrics (see trainRun).
 */
import os from 'node:os';
import path from 'node:path';
import { selectBackend, type BackendName } from '../ml/backend.ts';
import { readLabelledFolder } from '../ml/labelledFolder.ts';
import { loadMnist } from '../ml/mnist.ts';
import { loadModelFolder, type LoadedModel } from '../ml/modelFolder.ts';
import { PRESETS } from '../ml/models.ts';
import { DEFAULT_HOLDOUT } from '../ml/heldOut.ts';
import { preparePictureRun, type PictureRun } from '../ml/pictureRun.ts';
import { trainRun } from '../ml/runs.ts';
import { DEFAULT_CHECKPOINT_EVERY } from '../ml/trainer.ts';
import type { ChildMessage, ParentMessage, StartMessage } from './trainingProtocol.ts';

interface Channel {
  send(message: ChildMessage): void;
  onMessage(listener: (message: ParentMessage) => void): void;
  /** Sends a last message and exits the process once it is on its way. */
  finish(message: ChildMessage, exitCode: number): void;
}

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

/**
 * Niceness of the training child. Training takes every core, and the window (and the browser
 * mode's server) should win when both want one: measured with `npx tsx bench/responsiveness.ts
 * [--nice 10]` while cnn trained on 2 threads (load 9), tab switches took 82-108 ms instead of
 * 143-180 ms (60 ms idle), API answers 2.2-2.4 ms median / 20 ms p95 instead of 4.6-5.2 / 40-46 ms;
 * frame intervals were 16.7 ms either way. Training loses time only to work the user runs beside it.
 */
const TRAINING_NICENESS = 10;

/**
 * Lowers this thread's priority; on Linux niceness is per thread and threads started later (the
 * gradient workers) inherit it. Refusal (some sandboxes) costs nothing but the smoother window.
 */
function lowerPriority(): void {
  try {
    os.setPriority(Math.max(os.getPriority(), TRAINING_NICENESS));
  } catch {
    // Keep the default priority.
  }
}

/** Time given to Electron's parentPort to hand over a last message before the process exits. */
const PARENT_PORT_FLUSH_MS = 100;

function openChannel(): Channel {
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (parentPort) {
    return {
      send: (message) => parentPort.postMessage(message),
      onMessage: (listener) => parentPort.on('message', (event) => listener(event.data as ParentMessage)),
      finish: (message, exitCode) => {
        parentPort.postMessage(message);
        setTimeout(() => process.exit(exitCode), PARENT_PORT_FLUSH_MS);
      },
    };
  }
  if (!process.send) throw new Error('trainingWorker must be started by the training host (no IPC channel)');
  // After the parent disconnected, sending throws; the checkpoint on disk is what matters then.
  const send = (message: ChildMessage, then?: () => void) => {
    if (!process.connected) then?.();
    else if (then) process.send!(message, undefined, undefined, () => then());
    else process.send!(message);
  };
  return {
    send: (message) => send(message),
    onMessage: (listener) => process.on('message', (message) => listener(message as ParentMessage)),
    finish: (message, exitCode) => send(message, () => process.exit(exitCode)),
  };
}

async function openBackend(backend?: BackendName): Promise<void> {
  await selectBackend(backend);
}


function serve(channel: Channel): void {
  const controller = new AbortController();
  let gate: { promise: Promise<void>; release: () => void } | null = null;
  let step = 0;
  let started = false;

  const releaseGate = () => {
    gate?.release();
    gate = null;
  };

  const beforeStep = async () => {
    if (!gate) return;
    channel.send({ type: 'paused', step });
    await gate.promise;
  };

  const train = async (start: StartMessage) => {
    await openBackend(start.backend);
    const data = await loadMnist({ dir: start.dataDir });
    const { startFrom: _startFrom, data: _data, holdout, ...request } = start.request;
    const from: LoadedModel | null = start.fromModelDir ? await loadModelFolder(start.fromModelDir) : null;
    const fromName = start.fromModelDir ? (start.fromModelName ?? path.basename(start.fromModelDir)) : undefined;
    let pictureRun: PictureRun | null = null;
    if (start.pictures) {
      const folder = await readLabelledFolder(start.pictures.dir, { cacheDir: start.pictures.cacheDir });
      pictureRun = preparePictureRun({
        mnist: data,
        folder,
        holdout: holdout ?? DEFAULT_HOLDOUT,
        from,
        fromName,
        useMnist: start.request.data !== 'mine',
        preset: from ? undefined : request.preset,
        mnistLimit: request.limit,
        seed: 1,
      });
    }
    // Without pictures, a fine-tune on MNIST alone: the starting weights with the preset's schedule.
    const preset = pictureRun?.preset ?? (from?.metadata?.preset as typeof request.preset | undefined) ?? request.preset;
    const trainData = pictureRun?.data ?? data;
    const trainCount = pictureRun ? trainData.train.count : Math.min(request.limit ?? data.train.count, data.train.count);
    const batchSize = request.batchSize ?? pictureRun?.defaults.batchSize ?? PRESETS[preset].recipe.batchSize;
    // A checkpoint at least every epoch, so a crash or a closed app loses little work.
    const checkpointEvery = Math.max(1, Math.min(DEFAULT_CHECKPOINT_EVERY, Math.ceil(trainCount / batchSize)));
    const result = await trainRun(
      trainData,
      {
        ...request,
        preset,
        batchSize,
        learningRate: request.learningRate ?? pictureRun?.defaults.learningRate,
        epochs: request.steps === undefined ? (request.epochs ?? pictureRun?.defaults.epochs) : undefined,
        limit: pictureRun ? undefined : request.limit,
        runDir: start.runDir,
        checkpointEvery,
        validate: true,
        initialWeights: pictureRun?.initialWeights ?? from?.model.getWeights(),
        heldOutImages: pictureRun?.heldOut,
        threads: 'auto',
      },
      {
        signal: controller.signal,
        beforeStep,
        onEvent: (event) => {
          if (event.type === 'progress') step = event.step;
          else if (event.type === 'start') step = event.startStep;
          channel.send({ type: 'event', event });
        },
      },
      pictureRun?.trainedOn ?? (from ? { mnist: { source: data.source, count: trainCount }, fineTunedFrom: { folder: fromName!, preset } } : undefined),
    );
    const { totalSteps, modelDir } = result;
    const testAccuracy = result.test?.accuracy ?? null;
    if (result.stopped || !modelDir || testAccuracy === null) {
      return channel.finish({ type: 'stopped', step: result.step, totalSteps, modelDir, testAccuracy }, 0);
    }
    channel.finish(
      {
        type: 'done',
        modelDir,
        testAccuracy,
        step: result.step,
        ...(result.images ? { imagesAccuracy: result.images.accuracy } : {}),
        ...(pictureRun?.before ? { before: pictureRun.before } : {}),
      },
      0,
    );
  };

  const fail = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    channel.finish({ type: 'error', message }, 1);
  };

  channel.onMessage((message) => {
    switch (message.type) {
      case 'start':
        if (started) return;
        started = true;
        train(message).catch(fail);
        return;
      case 'pause':
        if (!gate) {
          let release!: () => void;
          const promise = new Promise<void>((resolve) => (release = resolve));
          gate = { promise, release };
        }
        return;
      case 'resume':
        releaseGate();
        return;
      case 'stop':
        controller.abort();
        releaseGate();
        return;
    }
  });
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  // The host went away (app closed, crash): stop cleanly, which writes a checkpoint to resume from.
  process.on('disconnect', () => {
    controller.abort();
    releaseGate();
    if (!started) process.exit(0);
  });
  channel.send({ type: 'ready' });
}

lowerPriority();
serve(openChannel());
