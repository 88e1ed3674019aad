/** `digits train`: the seed's mnist_backward.py, for any preset, resumable. */
import path from 'node:path';
import { PRESET_NAMES, DEFAULT_PRESET, isPresetName } from '../ml/models.ts';
import { trainRun } from '../ml/runs.ts';
import type { TrainingEvent } from '../ml/trainer.ts';
import { UsageError } from './errors.ts';
import { intFlag, numberFlag, openBackend, openData, printJson, stringFlag, type Command } from './options.ts';
import { ProgressBar } from './progressBar.ts';

/** JSON progress lines at most this often (the first and last step always). */
const JSON_PROGRESS_MS = 250;

export const trainCommand: Command = {
  async run(flags) {
    const preset = stringFlag(flags, 'preset') ?? DEFAULT_PRESET;
    if (!isPresetName(preset)) throw new UsageError(`--preset must be one of ${PRESET_NAMES.join(', ')}, not '${preset}'`);
    const steps = intFlag(flags, 'steps', 1, 10_000_000);
    const epochs = intFlag(flags, 'epochs', 1, 100_000);
    if (steps !== undefined && epochs !== undefined) throw new UsageError('give --steps or --epochs, not both');
    const options = {
      preset,
      steps,
      epochs,
      batchSize: intFlag(flags, 'batch-size', 1, 60_000),
      learningRate: numberFlag(flags, 'learning-rate', 0, 10),
      limit: intFlag(flags, 'limit', 1, 10_000_000),
      checkpointEvery: intFlag(flags, 'checkpoint-every', 1, 10_000_000),
      runDir: path.resolve(stringFlag(flags, 'run') ?? path.join('runs', preset)),
    };
    const json = flags.json === true;
    await openBackend(flags);
    const data = await openData(flags);

    const bar = !json && process.stdout.isTTY ? new ProgressBar(process.stdout) : null;
    let lastJson = 0;
    let totalSteps = 0;
    let batchSize = 0;
    const onEvent = (event: TrainingEvent) => {
      if (event.type === 'start') ({ totalSteps, batchSize } = event);
      if (json) {
        if (event.type === 'progress') {
          const now = performance.now();
          const edge = event.step === 1 || event.step === totalSteps;
          if (!edge && now - lastJson < JSON_PROGRESS_MS) return;
          lastJson = now;
          const { type, step, epoch, loss, learningRate, samplesPerSecond } = event;
          printJson({ type, step, epoch, loss, learningRate, samplesPerSecond: Math.round(samplesPerSecond) });
        } else if (event.type === 'epoch') {
          printJson({ type: 'epoch', epoch: event.epoch, step: event.step, validationAccuracy: event.validationAccuracy, validationLoss: event.validationLoss, seconds: event.seconds });
        } else if (event.type === 'start') {
          printJson(event);
        }
        return;
      }
      if (event.type === 'start') {
        const from = event.resumed ? `resuming at step ${event.startStep}` : 'from scratch';
        console.log(
          `Training ${event.preset} on ${event.trainCount} images, ${event.totalSteps} steps ` +
            `(${event.stepsPerEpoch} per epoch, batch ${event.batchSize}), ${from}. Run folder: ${options.runDir}`,
        );
      } else if (event.type === 'progress') {
        bar?.update(event, totalSteps, batchSize);
        if (!bar && event.step % 1000 === 0) {
          console.log(`step ${event.step}: loss ${event.loss.toFixed(4)}, ${Math.round(event.samplesPerSecond)} samples/s`);
        }
      } else if (event.type === 'epoch') {
        bar?.clear();
        console.log(
          `epoch ${event.epoch}: validation accuracy ${(event.validationAccuracy * 100).toFixed(2)}% ` +
            `(loss ${event.validationLoss.toFixed(4)}, ${event.seconds.toFixed(1)} s)`,
        );
      }
    };

    const controller = new AbortController();
    const stop = () => {
      if (!controller.signal.aborted) console.error('\nStopping after this step; saving a checkpoint (Ctrl-C again to quit now).');
      else process.exit(130);
      controller.abort();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      const result = await trainRun(data, options, { onEvent, signal: controller.signal });
      bar?.clear();
      if (result.stopped) {
        const message = `Stopped at step ${result.step} of ${result.totalSteps}; rerun the same command to resume.`;
        if (json) printJson({ type: 'stopped', step: result.step, run: options.runDir });
        else console.log(message);
        return 130;
      }
      const { modelDir, test } = result;
      if (json) printJson({ type: 'done', model: modelDir, testAccuracy: test.accuracy, testLoss: test.loss, step: result.step });
      else console.log(`Test accuracy ${(test.accuracy * 100).toFixed(2)}% (${test.count} images). Model folder: ${modelDir}`);
      return 0;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};
