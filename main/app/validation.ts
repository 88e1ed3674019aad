/**
 * Payload validation for every request, before a handler touches it. Payloads come from a
 * renderer (or a WebSocket client) and are untrusted: shapes, sizes and ranges are checked
 * here, and a bad payload becomes a StudioError('invalid-payload') naming the field and the
 * problem. Checks that need state (a test index beyond the test set, a run that does not
 * exist) are the handlers' job.
 */
import { z } from 'zod';
import { describeIssues } from '../ml/zodIssues.ts';
import { PRESET_NAMES } from '../ml/models.ts';
import { PICTURE_LIMITS, REQUEST_LIMITS, RUN_LIMITS, TRAINING_LIMITS, describeMegabytes } from '../ml/limits.ts';
import { RUN_ID_PATTERN } from '../ml/runList.ts';
import { REQUEST_NAMES, type Payload, type RequestName, type StudioHandlers } from './contract.ts';
import { StudioError } from './errors.ts';

const noPayload = z.union([z.undefined(), z.null(), z.strictObject({})]);

const wholeNumber = (min: number, max: number, what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int({ error: `${what} must be a whole number` })
    .min(min, { error: `${what} must be at least ${min}` })
    .max(max, { error: `${what} must be at most ${max}` });

const trainingRequest = z
  .strictObject({
    preset: z.enum(PRESET_NAMES as [string, ...string[]], { error: `preset must be one of ${PRESET_NAMES.join(', ')}` }),
    epochs: wholeNumber(1, TRAINING_LIMITS.maxEpochs, 'epochs').optional(),
    steps: wholeNumber(1, TRAINING_LIMITS.maxSteps, 'steps').optional(),
    batchSize: wholeNumber(TRAINING_LIMITS.minBatchSize, TRAINING_LIMITS.maxBatchSize, 'batchSize').optional(),
    learningRate: z
      .number({ error: 'learningRate must be a number' })
      .min(TRAINING_LIMITS.minLearningRate, { error: `learningRate must be at least ${TRAINING_LIMITS.minLearningRate}` })
      .max(TRAINING_LIMITS.maxLearningRate, { error: `learningRate must be at most ${TRAINING_LIMITS.maxLearningRate}` })
      .optional(),
    limit: wholeNumber(1, REQUEST_LIMITS.maxTrainingLimit, 'limit').optional(),
    startFrom: z.enum(['scratch', 'current'], { error: 'startFrom must be scratch or current' }).optional(),
    data: z.enum(['mnist', 'mnist+mine', 'mine'], { error: 'data must be mnist, mnist+mine or mine' }).optional(),
    holdout: z
      .number({ error: 'holdout must be a number' })
      .min(0, { error: 'holdout must be at least 0' })
      .lt(1, { error: 'holdout must be below 1 (some pictures must be left to train on)' })
      .optional(),
  })
  .refine((r) => r.epochs === undefined || r.steps === undefined, { error: 'give epochs or steps, not both' });

export { RUN_ID_PATTERN };

/** A named file as bytes: a picture to read, or one file of an uploaded model. */
const namedBytes = z.strictObject({
  name: z
    .string({ error: 'name must be text' })
    .max(REQUEST_LIMITS.maxFileNameLength, { error: `name must be at most ${REQUEST_LIMITS.maxFileNameLength} characters` }),
  bytes: z.instanceof(Uint8Array, { error: 'bytes must be a Uint8Array' }),
});

const predictPayload = z
  .strictObject({
    files: z
      .array(namedBytes, { error: 'files must be a list' })
      .max(REQUEST_LIMITS.maxFilesPerPrediction, { error: `at most ${REQUEST_LIMITS.maxFilesPerPrediction} files per call` }),
  })
  .superRefine((payload, ctx) => {
    // A picture over the per-picture limit is not refused here: it becomes its own failed item
    // (the decoder refuses it unread), so its neighbours are still predicted. It is not counted.
    let total = 0;
    for (const file of payload.files) if (file.bytes.byteLength <= PICTURE_LIMITS.maxFileBytes) total += file.bytes.byteLength;
    if (total > REQUEST_LIMITS.maxPredictionBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['files'],
        message: `the pictures add up to ${describeMegabytes(total)}; send at most ${describeMegabytes(REQUEST_LIMITS.maxPredictionBytes)} per call`,
      });
    }
  });

const digitLabel = wholeNumber(0, 9, 'label');
const collectionFile = z
  .string({ error: 'file must be text' })
  .max(REQUEST_LIMITS.maxFileNameLength, { error: `file must be at most ${REQUEST_LIMITS.maxFileNameLength} characters` })
  .regex(/^[0-9](\/[^/\\\0]+)+$/, { error: 'file must be a picture of the collection (<digit>/<name>)' });

/** Pictures sent into the collection: the same count and byte limits as a prediction request. */
const pictureBatch = <T extends z.ZodType<{ bytes: Uint8Array }>>(item: T, what: string) =>
  z
    .array(item, { error: `${what} must be a list` })
    .max(REQUEST_LIMITS.maxFilesPerPrediction, { error: `at most ${REQUEST_LIMITS.maxFilesPerPrediction} ${what} per call` })
    .refine((items) => items.reduce((sum, i) => sum + i.bytes.byteLength, 0) <= REQUEST_LIMITS.maxPredictionBytes, {
      error: `the ${what} add up to more than ${describeMegabytes(REQUEST_LIMITS.maxPredictionBytes)}; send them in smaller groups`,
    });
const modelUpload = z
  .strictObject({
    files: z
      .array(namedBytes, { error: 'files must be a list' })
      .min(1, { error: 'choose the model folder, its files or a zip of them' })
      .max(REQUEST_LIMITS.maxModelUploadFiles, { error: `at most ${REQUEST_LIMITS.maxModelUploadFiles} files: a model folder has model.json, its weights and metadata.json` }),
  })
  .superRefine((payload, ctx) => {
    const total = payload.files.reduce((sum, file) => sum + file.bytes.byteLength, 0);
    if (total > REQUEST_LIMITS.maxModelUploadBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['files'],
        message: `the model's files add up to ${describeMegabytes(total)}; at most ${describeMegabytes(REQUEST_LIMITS.maxModelUploadBytes)} can be uploaded`,
      });
    }
  });

/** One schema per request; a missing entry is a type error. */
const runId = z.string({ error: 'runId must be text' }).regex(RUN_ID_PATTERN, { error: 'runId is not a valid run name' });

export const PAYLOAD_SCHEMAS: { [K in RequestName]: z.ZodType<unknown> } = {
  getAppInfo: noPayload,
  startTraining: trainingRequest,
  resumeRun: z.strictObject({ runId }),
  pauseTraining: noPayload,
  resumeTraining: noPayload,
  stopTraining: noPayload,
  getTrainingSnapshot: noPayload,
  listRuns: noPayload,
  getCurrentModel: noPayload,
  evaluateModel: noPayload,
  getTestImages: z.strictObject({
    indices: z
      .array(wholeNumber(0, Number.MAX_SAFE_INTEGER, 'index'), { error: 'indices must be a list of numbers' })
      .min(1, { error: 'indices must not be empty' })
      .max(REQUEST_LIMITS.maxIndicesPerCall, { error: `at most ${REQUEST_LIMITS.maxIndicesPerCall} indices per call` }),
  }),
  predictImages: predictPayload,
  listMyDigits: noPayload,
  addMyDigits: z.strictObject({
    pictures: pictureBatch(z.strictObject({ label: digitLabel, name: namedBytes.shape.name, bytes: namedBytes.shape.bytes }), 'pictures'),
  }),
  importMyDigits: z.strictObject({
    files: pictureBatch(z.strictObject({ path: namedBytes.shape.name, bytes: namedBytes.shape.bytes }), 'files'),
  }),
  removeMyDigit: z.strictObject({ file: collectionFile }),
  relabelMyDigit: z.strictObject({ file: collectionFile, label: digitLabel }),
  evaluateMyDigits: noPayload,
  exportModel: noPayload,
  importModel: noPayload,
  downloadModel: noPayload,
  uploadModel: modelUpload,
  exportRunModel: z.strictObject({ runId }),
  downloadRunModel: z.strictObject({ runId }),
  useRunModel: z.strictObject({ runId }),
  getModelOffer: noPayload,
  dismissModelOffer: noPayload,
  labelRun: z
    .strictObject({
      runId,
      name: z.string({ error: 'name must be text' }).max(RUN_LIMITS.maxNameLength, { error: `name must be at most ${RUN_LIMITS.maxNameLength} characters` }).optional(),
      note: z.string({ error: 'note must be text' }).max(RUN_LIMITS.maxNoteLength, { error: `note must be at most ${RUN_LIMITS.maxNoteLength} characters` }).optional(),
    })
    .refine((p) => p.name !== undefined || p.note !== undefined, { error: 'give a name or a note' }),
  deleteRun: z.strictObject({ runId }),
  getRunCurves: z.strictObject({
    runIds: z
      .array(runId, { error: 'runIds must be a list of run names' })
      .min(1, { error: 'runIds must not be empty' })
      .max(RUN_LIMITS.maxComparedRuns, { error: `compare at most ${RUN_LIMITS.maxComparedRuns} runs` }),
  }),
};

/**
 * Checks a request's payload and returns it typed; throws StudioError('invalid-payload') whose
 * message names the request and each problem.
 */
export function validatePayload<K extends RequestName>(name: K, payload: unknown): Payload<K> {
  if (typeof name !== 'string' || !Object.hasOwn(PAYLOAD_SCHEMAS, name)) {
    throw new StudioError('invalid-payload', `Unknown request '${String(name)}'`);
  }
  const schema = PAYLOAD_SCHEMAS[name];
  const result = schema.safeParse(payload);
  if (!result.success) {
    throw new StudioError('invalid-payload', `Invalid ${name} request: ${describeIssues(result.error)}`);
  }
  // Void requests hand their handler `undefined`, whatever empty value the transport sent.
  return (schema === noPayload ? undefined : result.data) as Payload<K>;
}

/** Wraps handlers so that each validates its payload first: a handler never sees an unchecked payload. */
export function withValidation(handlers: StudioHandlers): StudioHandlers {
  const checked: Partial<Record<RequestName, (payload: unknown) => Promise<unknown>>> = {};
  for (const name of REQUEST_NAMES) {
    const handler = handlers[name] as (payload: unknown) => Promise<unknown>;
    checked[name] = async (payload) => handler(validatePayload(name, payload));
  }
  return checked as StudioHandlers;
}
