/**
 * The renderer's view of the contract with the main side: types only, re-exported so components
 * import them from one short path. The source of truth is main/app/contract.ts.
 */
export type {
  AppInfo,
  AppLimits,
  BackendName,
  ClassMetricsInfo,
  DatasetInfo,
  EvaluationSummary,
  ExportResult,
  FileUpload,
  ImageUpload,
  MistakeInfo,
  ModelInfo,
  PredictionDoubt,
  PredictionItem,
  PresetInfo,
  PresetName,
  RowDigit,
  RunSummary,
  StudioApi,
  StudioEvents,
  TestImage,
  TrainingEvent,
  TrainingRequest,
  TrainingSnapshot,
  TrainingState,
  TrainingUpdate,
} from '../../../main/app/contract.ts';
