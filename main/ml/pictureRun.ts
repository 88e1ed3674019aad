/**
 * Setting up a training run on labelled pictures, shared by `digits train --images` and the app:
 * the stratified held-out part, the starting model (fine-tuning), the mixed training set, the
 * "before" figures a fine-tune is compared with, and what the model folder records about it.
 */
import type * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import type { MnistSplits } from './dataset.ts';
import { evaluateModel } from './evaluate.ts';
import { splitHoldout, type LabelledFolder, type PictureSet } from './labelledFolder.ts';
import { limitImageSet } from './mnist.ts';
import type { LoadedModel, TrainedOn } from './modelFolder.ts';
import { DEFAULT_PRESET, isPresetName, type PresetName } from './models.ts';
import { planPictureRun } from './pictureTraining.ts';


export interface PictureRunInput {
  mnist: MnistSplits;
  folder: LabelledFolder;
  /** Share of each digit's pictures never trained on, in [0, 1). */
  holdout: number;
  /** Start from this model's weights (fine-tuning), or null for a fresh model. */
  from: LoadedModel | null;
  /** How the metadata names the starting model (default: its folder's name). */
  fromName?: string;
  /** Mix MNIST in (replay) or train on the pictures alone. */
  useMnist: boolean;
  /** The preset for a fresh model (a fine-tune takes the starting model's). */
  preset?: PresetName;
  augment?: boolean;
  /** Use only the first N MNIST training images. */
  mnistLimit?: number;
  seed: number;
}

export interface PictureRun {
  preset: PresetName;
  /** MNIST splits with `train` replaced by the mixed set. */
  data: MnistSplits;
  trainPictures: PictureSet;
  heldOut: PictureSet;
  /** Weights to start from (the starting model's, in getWeights() order), when fine-tuning. */
  initialWeights?: tf.Tensor[];
  /** Trainer settings that differ from the preset's (fine-tune schedule). */
  defaults: { batchSize?: number; learningRate?: number; epochs?: number };
  /** The starting model's figures, for the before/after summary (fine-tuning only). */
  before?: { imagesAccuracy?: number; testAccuracy: number };
  trainedOn: TrainedOn;
}

export function preparePictureRun(input: PictureRunInput): PictureRun {
  const fromPreset = input.from?.metadata?.preset;
  if (input.from && fromPreset !== undefined && !isPresetName(fromPreset)) {
    throw new Error(`${input.from.dir}: its metadata names preset '${fromPreset}', which this version does not know`);
  }
  if (input.from && fromPreset && input.preset && input.preset !== fromPreset) {
    throw new Error(`${input.from.dir} is a '${fromPreset}' model; a fine-tune keeps its architecture (drop --preset or pass --preset ${fromPreset})`);
  }
  const preset: PresetName = (fromPreset as PresetName | undefined) ?? input.preset ?? DEFAULT_PRESET;
  const { train: trainPictures, holdout: heldOut } = splitHoldout(input.folder.pictures, input.holdout, input.seed);
  const mnistTrain = input.useMnist
    ? input.mnistLimit !== undefined
      ? limitImageSet(input.mnist.train, input.mnistLimit)
      : input.mnist.train
    : null;
  const plan = planPictureRun({ pictures: trainPictures, mnist: mnistTrain, fineTune: input.from !== null, augment: input.augment, seed: input.seed });
  let before: PictureRun['before'];
  if (input.from) {
    const model = input.from.model;
    before = {
      testAccuracy: evaluateModel(model, input.mnist.test).accuracy,
      ...(heldOut.count > 0 ? { imagesAccuracy: evaluateModel(model, heldOut).accuracy } : {}),
    };
  }
  const meta = input.from?.metadata;
  return {
    preset,
    data: { ...input.mnist, train: plan.train },
    trainPictures,
    heldOut,
    initialWeights: input.from?.model.getWeights(),
    defaults: plan.defaults,
    before,
    trainedOn: {
      mnist: mnistTrain ? { source: input.mnist.source, count: plan.replay } : null,
      pictures: {
        folder: path.basename(input.folder.dir),
        count: input.folder.pictures.count,
        perDigit: input.folder.perDigit,
        trainCount: trainPictures.count,
        heldOutCount: heldOut.count,
        holdout: input.holdout,
        contentHash: input.folder.contentHash,
        augmented: plan.augment,
        copies: plan.copies,
      },
      ...(input.from
        ? {
            fineTunedFrom: {
              folder: input.fromName ?? path.basename(input.from.dir),
              preset,
              createdAt: meta?.createdAt,
              test: meta?.test,
              trainedOn: meta?.trainedOn,
            },
          }
        : {}),
    },
  };
}
