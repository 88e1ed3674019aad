/**
 * The training worker: a child process that trains one run and exits. It speaks the protocol of
 * trainingProtocol.ts over whichever channel it was started with: Electron's `process.parentPort`
 * (utilityProcess.fork) or Node's `process.send` (child_process.fork). Pausing parks the trainer
 * in `beforeStep`; stopping aborts it, which writes a checkpoint. A finished run is exported to
 * `<runDir>/model` with its test metrics.
 */
import { selectBackend, type BackendName } from '../ml/backend.ts';
import { loadMnist } from '../ml/mnist.ts';
import { PRESETS } from '../ml/models.ts';
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
    const { request } = start;
    const trainCount = Math.min(request.limit ?? data.train.count, data.train.count);
    const batchSize = request.batchSize ?? PRESETS[request.preset].recipe.batchSize;
    // A checkpoint at least every epoch, so a crash or a closed app loses little work.
    const checkpointEvery = Math.max(1, Math.min(DEFAULT_CHECKPOINT_EVERY, Math.ceil(trainCount / batchSize)));
    const result = await trainRun(
      data,
      { ...request, runDir: start.runDir, checkpointEvery, validate: true },
      {
        signal: controller.signal,
        beforeStep,
        onEvent: (event) => {
          if (event.type === 'progress') step = event.step;
          else if (event.type === 'start') step = event.startStep;
          channel.send({ type: 'event', event });
        },
      },
    );
    if (result.stopped) return channel.finish({ type: 'stopped', step: result.step, totalSteps: result.totalSteps }, 0);
    channel.finish({ type: 'done', modelDir: result.modelDir, testAccuracy: result.test.accuracy, step: result.step }, 0);
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

serve(openChannel());
