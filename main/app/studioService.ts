/**
 * The main side of Digit Studio, transport-agnostic: one handler per request of the contract
 * (StudioHandlers) plus the events pushed to the renderer. Electron's IPC (main/electron/ipc.ts)
 * and the WebSocket server of `digits serve` both sit on top of it.
 *
 * It wires together the current model (currentModel.ts), its test-set evaluation
 * (testSetEvaluation.ts), the training host, the "My digits" collection, predictions on uploaded
 * pictures and export/import of model folders. Every handler validates its payload first
 * (validation.ts). Its length is the contract's: one short handler per request, each delegating.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeFsError, FolderWriteError, isEmptyOrMissing } from '../ml/atomicFolder.ts';
import { selectBackend, type BackendChoice, type BackendName } from '../ml/backend.ts';
import type { MnistSplits } from '../ml/dataset.ts';
import { evaluatePictures } from '../ml/evaluate.ts';
import { FolderLockedError, lockRefusal, runLockFile, withDestinationLock } from '../ml/folderLock.ts';
import { appLimits } from '../ml/limits.ts';
import { loadMnist } from '../ml/mnist.ts';
import { ModelArchiveError, modelFilesFromUpload, zipModelFolder } from '../ml/modelArchive.ts';
import { loadModelFolder, ModelFolderError, modelFolderRefusal, saveModelFolder, writeModelFolderFiles } from '../ml/modelFolder.ts';
import { DEFAULT_PRESET, PRESETS, PRESET_NAMES } from '../ml/models.ts';
import { FINE_TUNE } from '../ml/pictureTraining.ts';
import { isFailure, LOW_CONFIDENCE, readPictures } from '../ml/predict.ts';
import { readRunCurves, readRunSummary, runsDir, writeRunLabel } from '../ml/runList.ts';
import type {
  AppInfo,
  ExportResult,
  MyDigitsChange,
  ModelInfo,
  ModelOffer,
  PredictionItem,
  StudioEvents,
  StudioHandlers,
} from './contract.ts';
import { CurrentModelSlot } from './currentModel.ts';
import { StudioError, toErrorInfo } from './errors.ts';
import { EventHub } from './eventHub.ts';
import { forkNodeTrainer } from './nodeTrainingProcess.ts';
import { TestSetEvaluation } from './testSetEvaluation.ts';
import { createTrainingHost, type EndedRun } from './trainingHost.ts';
import type { ForkTrainer } from './trainingProtocol.ts';
import { withValidation } from './validation.ts';
import { DigitCollection, type AddedPicture } from './myDigits.ts';


export interface StudioServiceOptions {
  /** Where runs and app state live (Electron: app.getPath('userData')). */
  workspaceDir: string;
  shell: 'electron' | 'browser';
  /** Electron's folder chooser for export/import (main asks, never the window); null = cancelled. */
  chooseFolder?: (purpose: 'export' | 'import') => Promise<string | null>;
  /** Electron's "replace this folder's contents?" question for a chosen non-empty folder. */
  confirmOverwrite?: (dir: string) => Promise<boolean>;
  /** Starts training children; default: child_process.fork of the TypeScript worker through tsx. */
  forkTrainer?: ForkTrainer;
  /** A folder of MNIST IDX files; default: the embedded copy. */
  dataDir?: string;
  /** Backend for this process and the training children; default: the best available. */
  backend?: BackendName;
  /** Shown in getAppInfo; default: the version in package.json. */
  version?: string;
}

export interface StudioServiceEvents {
  on<E extends keyof StudioEvents>(event: E, listener: (payload: StudioEvents[E]) => void): () => void;
}

export interface StudioService {
  handlers: StudioHandlers;
  events: StudioServiceEvents;
  /** Stops a running training run (it stays resumable) and releases the model. */
  dispose(): Promise<void>;
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | null = null;
  return () => {
    promise ??= make().catch((error: unknown) => {
      promise = null; // A failure (e.g. a missing data folder) may be fixed and retried.
      throw error;
    });
    return promise;
  };
}

async function packageVersion(): Promise<string> {
  // Source: main/app/ -> ../../package.json; Electron build: out/main/ -> ../../package.json.
  try {
    const text = await fs.readFile(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Uploaded models live here, one folder each; only the newest is kept. */
const UPLOADED_MODELS = 'uploaded-models';

/** "digit-model-fast-2026-11-29.zip": what the download is called. */
function downloadName(info: ModelInfo): string {
  const day = (info.createdAt ?? new Date().toISOString()).slice(0, 10);
  return `digit-model-${info.preset ?? info.origin}-${/^\d{4}-\d\d-\d\d$/.test(day) ? day : 'export'}.zip`;
}

/** Earlier uploads are no longer the current model once a new one loaded (best effort). */
async function removeOtherUploads(uploads: string, keep: string): Promise<void> {
  const names = await fs.readdir(uploads).catch(() => [] as string[]);
  await Promise.all(
    names.filter((name) => path.join(uploads, name) !== keep).map((name) => fs.rm(path.join(uploads, name), { recursive: true, force: true }).catch(() => undefined)),
  );
}

export function createStudioService(options: StudioServiceOptions): StudioService {
  const hub = new EventHub<StudioEvents>();
  const backend = once<BackendChoice>(() => selectBackend(options.backend));
  const data = once<MnistSplits>(() => loadMnist({ dir: options.dataDir }));
  const version = options.version !== undefined ? Promise.resolve(options.version) : packageVersion();

  const current = new CurrentModelSlot({
    workspaceDir: options.workspaceDir,
    beforeLoad: backend,
    onChange: (info) => {
      evaluation.clear();
      hub.emit('modelChanged', info);
    },
  });

  const evaluation = new TestSetEvaluation(current, async () => (await data()).test, (done, total) => hub.emit('evaluationProgress', { done, total }));
  const pictureCache = path.join(options.workspaceDir, 'cache', 'pictures');
  const collection = new DigitCollection(options.workspaceDir, pictureCache);

  /** The offer of a newly ended run's model while another one is current (see ModelOffer). */
  let offer: ModelOffer | null = null;
  const setOffer = (next: ModelOffer | null) => {
    offer = next;
    hub.emit('modelOffer', next);
  };

  const runDirOf = (runId: string) => path.join(runsDir(options.workspaceDir), runId);

  /**
   * A run ended with a model. With no current model it becomes the current one; otherwise the
   * current model stays and the new one is offered beside it, both measured on the same test set.
   */
  const onRunEnded = async (run: EndedRun): Promise<ModelInfo> => {
    const ended = await readRunSummary(runDirOf(run.runId), run.runId);
    const info: ModelInfo = {
      origin: 'trained',
      dir: path.resolve(run.modelDir),
      name: run.runId,
      runId: run.runId,
      preset: ended.preset,
      testAccuracy: run.testAccuracy,
      createdAt: ended.updatedAt,
    };
    const now = await current.info();
    // No current model: the new one becomes current. The current model's own run resumed and ended:
    // its folder now holds the new weights (the user asked for this run to go on), so it follows.
    if (!now || now.runId === run.runId) {
      const replaced = await current.replace(run.modelDir, 'trained');
      if (offer) setOffer(null);
      return replaced;
    }
    // The current model's accuracy on the very test set the run was tested on (cached per model).
    const summary = await evaluation.summary();
    const difference = run.testAccuracy - summary.accuracy;
    setOffer({
      runId: run.runId,
      runName: ended.name,
      status: run.status,
      model: info,
      testAccuracy: run.testAccuracy,
      current: summary.model,
      currentAccuracy: summary.accuracy,
      better: Math.abs(difference) < 0.5 / Math.max(1, summary.count) ? 'same' : difference > 0 ? 'new' : 'current',
    });
    return info;
  };

  const training = createTrainingHost({
    workspaceDir: options.workspaceDir,
    sources: {
      pictures: { dir: collection.dir, cacheDir: pictureCache },
      saveCurrentModel: async (dir) => {
        const info = await current.info();
        if (!info) return null;
        await writeModel(dir);
        return { name: info.name };
      },
    },
    fork: options.forkTrainer ?? forkNodeTrainer(),
    dataDir: options.dataDir,
    backend: options.backend,
    onRunEnded: (run) => onRunEnded(run),
  });
  training.on((update) => hub.emit('training', update));

  /** A run of the workspace as listed, or a not-found error naming it. */
  const findRun = async (runId: string) => {
    const stat = await fs.stat(runDirOf(runId)).catch(() => null);
    if (!stat?.isDirectory()) throw new StudioError('not-found', `There is no run '${runId}' in this workspace (${runsDir(options.workspaceDir)}).`);
    const snapshot = training.snapshot();
    const active = snapshot.runId === runId && ['running', 'paused', 'stopping'].includes(snapshot.state);
    return readRunSummary(runDirOf(runId), runId, active ? runId : null);
  };

  /** Writes the current model into `dir` (which the caller checked is empty or may be replaced). */
  const writeModel = (dir: string) =>
    current.use(async (entry) => {
      try {
        // From memory, not by copying the source folder's files: they were checked when loaded and
        // may have changed since (a model without metadata is written as a plain tfjs folder).
        await saveModelFolder(dir, entry.model, entry.metadata, { overwrite: true });
      } catch (error) {
        if (error instanceof ModelFolderError) throw new StudioError('conflict', error.message);
        if (error instanceof FolderWriteError) throw new StudioError('unavailable', error.message);
        throw error;
      }
    });

  /**
   * Writes the model folder `from` (a run's model) into `dir`: loaded through the same checks as
   * any model folder and written from memory, like an export of the current model.
   */
  const writeModelFrom = async (from: string, dir: string) => {
    await backend();
    const loaded = await loadModelFolder(from);
    try {
      await saveModelFolder(dir, loaded.model, loaded.metadata, { overwrite: true });
    } catch (error) {
      if (error instanceof ModelFolderError) throw new StudioError('conflict', error.message);
      if (error instanceof FolderWriteError) throw new StudioError('unavailable', error.message);
      throw error;
    } finally {
      loaded.model.dispose();
    }
  };

  /** The model folder of run `runId`, or a no-model error saying why it has none. */
  const runModelOf = async (runId: string): Promise<string> => {
    const run = await findRun(runId);
    if (!run.modelDir) throw new StudioError('no-model', `Run ${run.name} has no model to export (${run.status}); resume it or let it finish first.`);
    return run.modelDir;
  };

  /**
   * Whether `dir` is missing or empty (else the user confirms replacing it). A file, a link or a
   * folder holding anything but a previous model folder is refused outright.
   */
  /** The desktop's native dialogs; the browser version has none (it downloads and uploads instead). */
  const desktopDialogs = (action: 'export' | 'import') => {
    const { chooseFolder, confirmOverwrite } = options;
    if (!chooseFolder || !confirmOverwrite) {
      throw new StudioError(
        'unavailable',
        action === 'export' ? 'Exporting to a folder is for the desktop app; here the model is downloaded.' : 'Importing from a folder is for the desktop app; here the model is uploaded.',
      );
    }
    return { chooseFolder, confirmOverwrite };
  };

  const folderIsEmpty = async (dir: string): Promise<boolean> => {
    let refusal: string | null;
    try {
      refusal = await modelFolderRefusal(dir, { overwrite: true });
    } catch (error) {
      throw new StudioError('unavailable', `${dir}: cannot read the folder (${describeFsError(error)})`);
    }
    if (refusal) throw new StudioError('conflict', refusal);
    return isEmptyOrMissing(dir);
  };

  /**
   * Writes the current model into `dir` holding its lock (shared with `digits export`), so two
   * exports into one folder cannot both replace it; asks `confirmReplace` before replacing a previous model folder.
   */
  const exportInto = async (dir: string, confirmReplace: () => Promise<boolean>, write: (dir: string) => Promise<void> = writeModel): Promise<ExportResult> => {
    try {
      return await withDestinationLock(dir, async () => {
        // A previous model folder is replaced only when the user says so; anything else never.
        if (!(await folderIsEmpty(dir)) && !(await confirmReplace())) return { status: 'cancelled' };
        await write(dir);
        return { status: 'exported', dir };
      });
    } catch (error) {
      if (error instanceof FolderLockedError) throw new StudioError('busy', error.message);
      throw error;
    }
  };

  // Every handler sees only a payload that passed its schema (validation.ts).
  const handlers: StudioHandlers = withValidation({
    async getAppInfo() {
      const [choice, splits, appVersion, restoreProblem] = await Promise.all([backend(), data(), version, current.restoreProblem()]);
      const info: AppInfo = {
        version: appVersion,
        shell: options.shell,
        backend: { name: choice.name, reason: choice.reason },
        dataset: { source: splits.source, train: splits.train.count, validation: splits.validation.count, test: splits.test.count },
        presets: PRESET_NAMES.map((name) => {
          const { title, summary, description, recipe } = PRESETS[name];
          return {
            name,
            title,
            summary,
            description,
            batchSize: recipe.batchSize,
            learningRate: recipe.learningRate,
            ...(recipe.defaultEpochs !== undefined ? { defaultEpochs: recipe.defaultEpochs } : {}),
            ...(recipe.defaultSteps !== undefined ? { defaultSteps: recipe.defaultSteps } : {}),
          };
        }),
        defaultPreset: DEFAULT_PRESET,
        fineTune: { batchSize: FINE_TUNE.batchSize, learningRate: FINE_TUNE.learningRate, epochs: FINE_TUNE.epochs },
        limits: appLimits(),
        ...(restoreProblem ? { notices: [restoreProblem] } : {}),
      };
      return info;
    },

    async startTraining(payload) {
      return training.start(payload);
    },

    async resumeRun(payload) {
      return training.resumeRun(payload.runId);
    },

    async pauseTraining() {
      await training.pause();
    },

    async resumeTraining() {
      await training.resume();
    },

    async stopTraining() {
      await training.stop();
    },

    async getTrainingSnapshot() {
      return training.snapshot();
    },

    async listRuns() {
      return training.listRuns();
    },

    async getCurrentModel() {
      return current.info();
    },

    async evaluateModel() {
      return evaluation.summary();
    },

    async getTestImages(payload) {
      return evaluation.testImages(payload.indices);
    },

    async predictImages(payload) {
      const { files } = payload;
      return current.use(async (entry) => {
        const results = await readPictures(
          entry.model,
          files.map((file) => ({ name: file.name, bytes: file.bytes })),
        );
        return results.map((result, i): PredictionItem => {
          const name = files[i].name;
          if (isFailure(result)) {
            return result.code ? { name, ok: false, error: result.error, code: result.code } : { name, ok: false, error: result.error };
          }
          return {
            name,
            ok: true,
            digit: result.digit,
            confidence: result.confidence,
            probabilities: result.probabilities,
            input: result.input,
            doubts: result.doubts,
            row: result.row.map((d) => ({ digit: d.digit, confidence: d.confidence, unsure: d.confidence < LOW_CONFIDENCE, input: d.input })),
          };
        });
      });
    },

    async exportModel(): Promise<ExportResult> {
      if (!(await current.info())) throw new StudioError('no-model', 'No model to export yet: train one or import a model folder first.');
      const { chooseFolder, confirmOverwrite } = desktopDialogs('export');
      const dir = await chooseFolder('export');
      if (!dir) return { status: 'cancelled' };
      return exportInto(dir, () => confirmOverwrite(dir));
    },

    async importModel() {
      const dir = await desktopDialogs('import').chooseFolder('import');
      if (!dir) return null;
      await current.restore();
      return current.replace(dir, 'imported');
    },

    async listMyDigits() {
      return collection.summary();
    },

    async addMyDigits(payload) {
      return describeChange(await collection.add(payload.pictures), []);
    },

    async importMyDigits(payload) {
      const { added, ignored } = await collection.import(payload.files);
      return describeChange(added, ignored);
    },

    async removeMyDigit(payload) {
      await collection.remove(payload.file);
      return collection.summary();
    },

    async relabelMyDigit(payload) {
      await collection.relabel(payload.file, payload.label);
      return collection.summary();
    },

    async evaluateMyDigits() {
      if (!(await current.info())) throw new StudioError('no-model', 'There is no model to evaluate yet: train one or import a model folder first.');
      const started = performance.now();
      const folder = await collection.read();
      if (!folder) throw new StudioError('not-found', `"My digits" is empty: add pictures first (teach mode, Predict cards, or drop a labelled folder).`);
      return current.use(async (entry) => {
        // The same evaluation as `digits test --images`.
        const evaluation = evaluatePictures(entry.model, folder);
        return { model: entry.info, dir: collection.dir, ...evaluation, seconds: (performance.now() - started) / 1000 };
      });
    },

    async downloadModel() {
      const info = await current.info();
      if (!info) throw new StudioError('no-model', 'No model to export yet: train one or import a model folder first.');
      // The same writer as a desktop export, into a private temp folder, then zipped.
      const temp = await fs.mkdtemp(path.join(os.tmpdir(), 'digits-download-'));
      try {
        const dir = path.join(temp, 'model');
        await writeModel(dir);
        const files: Record<string, Uint8Array> = {};
        for (const name of await fs.readdir(dir)) files[name] = await fs.readFile(path.join(dir, name));
        return { name: downloadName(info), bytes: zipModelFolder(files) };
      } finally {
        await fs.rm(temp, { recursive: true, force: true });
      }
    },

    async uploadModel(payload) {
      let files: Record<string, Uint8Array>;
      try {
        files = modelFilesFromUpload(payload.files);
      } catch (error) {
        if (error instanceof ModelArchiveError) throw new StudioError('invalid-payload', `Not a model: ${error.message}.`);
        throw error;
      }
      // Written to a folder of its own in the workspace, then loaded like any model folder.
      const uploads = path.join(options.workspaceDir, UPLOADED_MODELS);
      const dir = path.join(uploads, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}`);
      try {
        await writeModelFolderFiles(dir, files);
        const info = await current.replace(dir, 'imported');
        await removeOtherUploads(uploads, dir);
        return info;
      } catch (error) {
        await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
        // The folder is ours, not the user's: messages speak of "the uploaded model".
        const message = toErrorInfo(error).message.split(`${dir}${path.sep}`).join('').split(dir).join('the uploaded model');
        throw new StudioError('invalid-payload', `Could not load the uploaded model: ${message}`);
      }
    },

    async exportRunModel({ runId }) {
      const modelDir = await runModelOf(runId);
      const { chooseFolder, confirmOverwrite } = desktopDialogs('export');
      const dir = await chooseFolder('export');
      if (!dir) return { status: 'cancelled' };
      if (path.resolve(dir) === path.resolve(modelDir)) throw new StudioError('invalid-payload', `${dir} is the run's own model folder; choose another folder.`);
      return exportInto(dir, () => confirmOverwrite(dir), (to) => writeModelFrom(modelDir, to));
    },

    async downloadRunModel({ runId }) {
      const modelDir = await runModelOf(runId);
      const temp = await fs.mkdtemp(path.join(os.tmpdir(), 'digits-download-'));
      try {
        const dir = path.join(temp, 'model');
        await writeModelFrom(modelDir, dir);
        const files: Record<string, Uint8Array> = {};
        for (const name of await fs.readdir(dir)) files[name] = await fs.readFile(path.join(dir, name));
        return { name: `digit-model-${runId}.zip`, bytes: zipModelFolder(files) };
      } finally {
        await fs.rm(temp, { recursive: true, force: true });
      }
    },

    async useRunModel({ runId }) {
      const run = await findRun(runId);
      if (!run.modelDir) throw new StudioError('no-model', `Run ${run.name} has no model yet (${run.status}); resume it or let it finish first.`);
      await current.restore();
      const info = await current.replace(run.modelDir, 'trained');
      if (offer) setOffer(null);
      return info;
    },

    async getModelOffer() {
      return offer;
    },

    async dismissModelOffer() {
      if (offer) setOffer(null);
    },

    async labelRun({ runId, name, note }) {
      await findRun(runId);
      await writeRunLabel(runDirOf(runId), { ...(name !== undefined ? { name } : {}), ...(note !== undefined ? { note } : {}) });
      return findRun(runId);
    },

    async deleteRun({ runId }) {
      const run = await findRun(runId);
      if (run.status === 'running') throw new StudioError('busy', `Run ${run.name} is training; stop it before deleting it.`);
      if ((await current.info())?.runId === runId) {
        throw new StudioError('conflict', `Run ${run.name} holds the current model; use another model first, then delete it.`);
      }
      // A `digits train` in another terminal holds the run's lock while it writes into the folder.
      const busy = await lockRefusal(runLockFile(runDirOf(runId)), `Run ${run.name}`);
      if (busy) throw new StudioError('busy', busy);
      // Moved aside first (one rename), so a half-deleted folder never shows up as a damaged run.
      const trash = path.join(runsDir(options.workspaceDir), `.deleted-${runId}-${Date.now()}`);
      await fs.rename(runDirOf(runId), trash);
      await fs.rm(trash, { recursive: true, force: true });
      if (offer?.runId === runId) setOffer(null);
    },

    async getRunCurves({ runIds }) {
      return Promise.all(
        runIds.map(async (runId) => {
          await findRun(runId);
          return { runId, ...(await readRunCurves(runDirOf(runId))) };
        }),
      );
    },
  });

  async function describeChange(added: AddedPicture[], ignored: string[]): Promise<MyDigitsChange> {
    return {
      summary: await collection.summary(),
      added: added.flatMap((a) => (a.file ? [a.file] : [])),
      failed: added.flatMap((a) => (a.error ? [{ name: a.name, error: a.error }] : [])),
      ignored,
    };
  }

  return {
    handlers,
    events: { on: (event, listener) => hub.on(event, listener) },
    async dispose() {
      await training.dispose();
      hub.clear();
      current.dispose();
    },
  };
}
