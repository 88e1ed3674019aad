/**
 * Every size and count limit of Digit Studio, defined once: pictures, requests, the `digits serve`
 * transport and the train panel's inputs. Import-free on purpose: the ML core, the service, the
 * server and the renderer's tests all read the same numbers, and getAppInfo reports the ones the
 * window must respect (AppInfo.limits), so nothing is sent that main would refuse.
 */

const MB = 1024 * 1024;

/** One picture to read (prediction pane, `digits predict`). */
export const PICTURE_LIMITS = {
  /** Larger files are refused before reading: a 48-megapixel phone JPEG is about 15 MB. */
  maxFileBytes: 25 * MB,
  /** Larger pictures are refused from their header, before decoding (a photo is 12-48 MP). */
  maxPixels: 50_000_000,
  /**
   * Seconds one decode may take: an ordinary picture takes milliseconds (a 2400x1800 JPEG about
   * 0.1 s), but a 2 KB SVG of nested <use> elements took 4.6 s, and one at librsvg's own limit 18 s.
   */
  decodeSeconds: 3,
  /**
   * Decodes running at once in the whole process. sharp works on libuv's thread pool (4 threads
   * unless UV_THREADPOOL_SIZE says otherwise), which file reads share: `digits serve` needs free
   * threads to answer HTTP while pictures decode.
   */
  concurrentDecodes: 2,
  /**
   * Elements an SVG may draw once its <use> copies are expanded (counted from the text before
   * rendering, <use> and groups included). A drawn digit has a handful; 32,000 (10,000 shapes)
   * took about 1 s to render here, 320,000 4.6 s, librsvg's own limit (500,000) about 18 s.
   */
  maxSvgElements: 50_000,
} as const;

/** Labelled picture folders (`digits train --images`, the "My digits" collection). */
export const PICTURE_FOLDER_LIMITS = {
  /** A folder with more pictures is refused before any is decoded. */
  maxPictures: 100_000,
  /**
   * What one dropped zip of labelled pictures may declare once unpacked (checked before anything
   * is inflated): 1,000 photos of 250 kB, or 100,000 drawings of 2.5 kB.
   */
  maxUnzippedBytes: 256 * MB,
} as const;

/**
 * A model folder to load (import, `--model`, the remembered current model, `--from`): it may come
 * from anywhere, so everything is capped before it is read or built (modelFolderChecks.ts). Far
 * above what a digit model needs (the largest preset, `cnn`, has 0.86M parameters in a 3.4 MB
 * weights file and a 5 KB model.json) and far below what hurts (a 1.1M-unit layer declared in
 * model.json would otherwise allocate gigabytes while tfjs builds it).
 */
export const MODEL_FOLDER_LIMITS = {
  modelJsonBytes: 1 * MB,
  metadataJsonBytes: 64 * 1024,
  /** All weights files together. */
  weightsBytes: 200 * MB,
  weightsFiles: 100,
  /** 200 MB of float32. */
  parameters: 50_000_000,
  layers: 500,
  /** Values one image produces in any one layer: 1M floats = 4 MB per image. */
  activationsPerImage: 1_000_000,
} as const;

/** Per-call limits of the requests the window (or a WebSocket client) sends. */
export const REQUEST_LIMITS = {
  maxFilesPerPrediction: 200,
  /**
   * Picture bytes one predictImages call carries (pictures over maxFileBytes are refused alone and
   * not counted). Base64 makes it 4/3 larger on the WebSocket: it fits in one message there.
   */
  maxPredictionBytes: 40 * MB,
  maxFileNameLength: 1000,
  maxIndicesPerCall: 1000,
  maxTrainingLimit: 10_000_000,
  /** An uploaded model (browser import): the files of a model folder, or one zip of them. */
  maxModelUploadFiles: 16,
  maxModelUploadBytes: 40 * MB,
  /** What an uploaded zip may declare once unpacked (checked before anything is inflated). */
  maxModelUnzippedBytes: 256 * MB,
} as const;

/** The WebSocket of `digits serve`. */
export const TRANSPORT_LIMITS = {
  /** The largest message the server accepts (its WebSocket maxPayload). */
  maxMessageBytes: 64 * MB,
  /** Requests one connection may have in flight; more get a 'busy' error. */
  maxInFlight: 16,
  maxConnections: 32,
  /**
   * Replies and events queued for one connection that has not read them yet. Past it the client
   * is dropped (it reconnects and asks for a snapshot) instead of the server growing without bound.
   */
  maxBufferedBytes: 32 * MB,
} as const;

/** The bounds of the train panel's inputs. */
export const TRAINING_LIMITS = {
  maxEpochs: 500,
  maxSteps: 1_000_000,
  minBatchSize: 1,
  maxBatchSize: 2048,
  minLearningRate: 1e-6,
  maxLearningRate: 1,
} as const;

/** The runs of a workspace (Models & runs view, `digits runs`). */
export const RUN_LIMITS = {
  /** Longest name and note a user can give a run. */
  maxNameLength: 120,
  maxNoteLength: 2000,
  /** How many runs the compare view overlays at once. */
  maxComparedRuns: 4,
} as const;

/** What getAppInfo reports (AppInfo.limits): what the window checks before it sends anything. */
export interface AppLimits {
  maxEpochs: number;
  maxSteps: number;
  minBatchSize: number;
  maxBatchSize: number;
  minLearningRate: number;
  maxLearningRate: number;
  /** Pictures larger than this are refused (each on its own card). */
  maxPictureBytes: number;
  /** At most this many pictures in one predictImages call... */
  maxPicturesPerRequest: number;
  /** ...adding up to at most this many bytes. */
  maxRequestBytes: number;
  /** An uploaded model's files (or zip) add up to at most this many bytes. */
  maxModelUploadBytes: number;
  /** A run's name and note (Models & runs). */
  maxRunNameLength: number;
  maxRunNoteLength: number;
}

export function appLimits(): AppLimits {
  return {
    ...TRAINING_LIMITS,
    maxPictureBytes: PICTURE_LIMITS.maxFileBytes,
    maxPicturesPerRequest: REQUEST_LIMITS.maxFilesPerPrediction,
    maxRequestBytes: REQUEST_LIMITS.maxPredictionBytes,
    maxModelUploadBytes: REQUEST_LIMITS.maxModelUploadBytes,
    maxRunNameLength: RUN_LIMITS.maxNameLength,
    maxRunNoteLength: RUN_LIMITS.maxNoteLength,
  };
}

/** "25.0 MB": rounded up, so a file just over a limit never reads as equal to it. */
export function describeMegabytes(bytes: number): string {
  return `${(Math.ceil((bytes / MB) * 10) / 10).toFixed(1)} MB`;
}
