/**
 * `digits train`: the seed's mnist_backward.py, for any preset, resumable; with `--images DIR`
 * also (or only) on labelled pictures, from scratch or fine-tuning a model (`--from`).
 */
import path from 'node:path';
import type { TrainedOn } from '../ml/modelFolder.ts';
import { PRESET_NAMES, DEFAULT_PRESET, isPresetName } from '../ml/models.ts';
import { DEFAULT_HOLDOUT, heldOutCaveat } from '../ml/heldOut.ts';
import { preparePictureRun, type PictureRun } from '../ml/pictureRun.ts';
import { trainRun } from '../ml/runs.ts';
import type { TrainingEvent, TrainingOptions } from '../ml/trainer.ts';
import { UsageError } from './errors.ts';
import { intFlag, numberFlag, openBackend, openData, openModel, openPictures, printJson, stringFlag, type Command } from './options.ts';
import { ProgressBar } from './progressBar.ts';

/** JSON progress lines at most this often (the first and last step always). */
const JSON_PROGRESS_MS = 250;

export const trainCommand: Command = {
  async run(flags) {
    const presetFlag = stringFlag(flags, 'preset');
    if (presetFlag !== undefined && !isPresetName(presetFlag)) throw new UsageError(`--preset must be one of ${PRESET_NAMES.join(', ')}, not '${presetFlag}'`);
    const steps = intFlag(flags, 'steps', 1, 10_000_000);
    const epochs = intFlag(flags, 'epochs', 1, 100_000);
    if (steps !== undefined && epochs !== undefined) throw new UsageError('give --steps or --epochs, not both');
    const imagesDir = stringFlag(flags, 'images');
    const fromDir = stringFlag(flags, 'from');
    if (!imagesDir) {
      for (const name of ['from', 'no-mnist', 'holdout', 'augment']) {
        if (flags[name] !== undefined) throw new UsageError(`--${name} needs --images DIR (a folder of labelled pictures)`);
      }
    }
    const holdoutText = stringFlag(flags, 'holdout');
    const holdout = holdoutText === undefined ? DEFAULT_HOLDOUT : Number(holdoutText);
    if (!(holdout >= 0 && holdout < 1)) throw new UsageError(`--holdout must be a fraction from 0 up to (not including) 1, not '${holdoutText}'`);
    const seed = intFlag(flags, 'seed', 0, 2 ** 31 - 1);
    const limit = intFlag(flags, 'limit', 1, 10_000_000);
    const json = flags.json === true;
    await openBackend(flags);
    const threads = intFlag(flags, 'threads', 1, 256) ?? 'auto';
    const data = await openData(flags);

    let pictureRun: PictureRun | null = null;
    const cleanup: (() => void)[] = [];
    if (imagesDir) {
      const folder = await openPictures(imagesDir, json);
      const from = fromDir ? await openModel(fromDir) : null;
      // The trainer copies the starting weights into its own model; this one goes when the run ends.
      if (from) cleanup.push(() => from.model.dispose());
      pictureRun = preparePictureRun({
          mnist: data,
          folder,
          holdout,
          from,
          useMnist: flags['no-mnist'] !== true,
          preset: presetFlag,
          augment: flags.augment === true ? true : undefined,
          mnistLimit: limit,
          seed: seed ?? 1,
        });
      const caveat = heldOutCaveat(pictureRun.heldOut.count);
      if (json) printJson({ type: 'pictures', train: pictureRun.trainPictures.count, heldOut: pictureRun.heldOut.count, caveat });
      else {
        console.log(`Training on ${pictureRun.trainPictures.count} of them, holding out ${pictureRun.heldOut.count}.`);
        if (caveat) console.log(caveat);
      }
    }
    const preset = pictureRun?.preset ?? presetFlag ?? DEFAULT_PRESET;
    const defaultRun = imagesDir ? `${preset}-${path.basename(path.resolve(imagesDir))}` : preset;
    const options: TrainingOptions = {
      preset,
      steps,
      epochs: steps === undefined ? (epochs ?? pictureRun?.defaults.epochs) : undefined,
      batchSize: intFlag(flags, 'batch-size', 1, 60_000) ?? pictureRun?.defaults.batchSize,
      learningRate: numberFlag(flags, 'learning-rate', 0, 10) ?? pictureRun?.defaults.learningRate,
      // With pictures, --limit applies to the MNIST images mixed in (preparePictureRun).
      limit: pictureRun ? undefined : limit,
      checkpointEvery: intFlag(flags, 'checkpoint-every', 1, 10_000_000),
      runDir: path.resolve(stringFlag(flags, 'run') ?? path.join('runs', defaultRun)),
      seed,
      initialWeights: pictureRun?.initialWeights,
      heldOutImages: pictureRun?.heldOut,
      threads,
    };
    const trainedOn: TrainedOn = pictureRun?.trainedOn ?? { mnist: { source: data.source, count: Math.min(limit ?? Infinity, data.train.count) } };

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
          printJson(event);
        } else if (event.type === 'start') {
          printJson(event);
        }
        return;
      }
      if (event.type === 'start') {
        const from = event.resumed
          ? `resuming at step ${event.startStep}`
          : fromDir
            ? `fine-tuning ${path.resolve(fromDir)}`
            : 'from scratch';
        console.log(
          `Training ${event.preset} on ${event.trainCount} images, ${event.totalSteps} steps ` +
            `(${event.stepsPerEpoch} per epoch, batch ${event.batchSize}), ${from}. Run folder: ${options.runDir}`,
        );
        for (const notice of event.notices ?? []) console.log(`Note: ${notice}`);
      } else if (event.type === 'progress') {
        bar?.update(event, totalSteps, batchSize);
        if (!bar && event.step % 1000 === 0) {
          console.log(`step ${event.step}: loss ${event.loss.toFixed(4)}, ${Math.round(event.samplesPerSecond)} samples/s`);
        }
      } else if (event.type === 'epoch') {
        bar?.clear();
        const images = event.imagesAccuracy === undefined ? '' : `, held-out pictures ${(event.imagesAccuracy * 100).toFixed(1)}%`;
        console.log(
          `epoch ${event.epoch}: validation accuracy ${(event.validationAccuracy * 100).toFixed(2)}%${images} ` +
            `(loss ${event.validationLoss.toFixed(4)}, ${event.seconds.toFixed(1)} s)`,
        );
      }
    };

    const controller = new AbortController();
    const stop = () => {
      if (!controller.signal.aborted) console.error('\nStopping after this step; saving a checkpoint and the model (Ctrl-C again to quit now).');
      else process.exit(130);
      controller.abort();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      const started = performance.now();
      const result = await trainRun(pictureRun?.data ?? data, options, { onEvent, signal: controller.signal }, trainedOn);
      bar?.clear();
      const { modelDir, test, images, step, totalSteps } = result;
      const seconds = (performance.now() - started) / 1000;
      // A stopped run wrote its model too (the weights of its last checkpoint), unless no step was trained.
      if (!test) {
        if (json) printJson({ type: 'stopped', step, totalSteps, run: options.runDir, model: null, testAccuracy: null, testLoss: null, seconds });
        else console.log(`Stopped at step ${step} of ${totalSteps} before any training: no model. Rerun the same command to resume.`);
        return 130;
      }
      if (json) {
        printJson({
          type: result.stopped ? 'stopped' : 'done',
          model: modelDir,
          testAccuracy: test.accuracy,
          testLoss: test.loss,
          step,
          totalSteps,
          run: options.runDir,
          seconds,
          ...(images ? { imagesAccuracy: images.accuracy, imagesLoss: images.loss } : {}),
          ...(pictureRun
            ? {
                pictures: trainedOn.pictures!.count,
                trainPictures: pictureRun.trainPictures.count,
                heldOutPictures: pictureRun.heldOut.count,
                perDigit: trainedOn.pictures!.perDigit,
                ...(pictureRun.before ? { before: pictureRun.before } : {}),
              }
            : {}),
        });
      } else {
        if (result.stopped) console.log(`Stopped at step ${step} of ${totalSteps}; rerun the same command to resume. Its model so far:`);
        console.log(`Test accuracy ${(test.accuracy * 100).toFixed(2)}% (${test.count} images). Model folder: ${modelDir}`);
        if (pictureRun) console.log(beforeAfter(pictureRun, test.accuracy, images?.accuracy));
      }
      return result.stopped ? 130 : 0;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      for (const dispose of cleanup) dispose();
    }
  },
};

const percent = (value: number, digits = 1) => `${(value * 100).toFixed(digits)}%`;

/** "Held-out pictures 88.0% -> 97.0% (20 pictures); MNIST test 98.28% -> 98.20%." */
function beforeAfter(run: PictureRun, testAccuracy: number, imagesAccuracy: number | undefined): string {
  const parts: string[] = [];
  if (imagesAccuracy !== undefined) {
    const was = run.before?.imagesAccuracy;
    parts.push(`Held-out pictures ${was !== undefined ? `${percent(was)} -> ` : ''}${percent(imagesAccuracy)} (${run.heldOut.count} pictures)`);
  }
  if (run.before) parts.push(`MNIST test ${percent(run.before.testAccuracy, 2)} -> ${percent(testAccuracy, 2)}`);
  return parts.length ? `${parts.join('; ')}.` : '';
}
