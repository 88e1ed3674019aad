/**
 * Messages between the training host (main side) and the training worker (a child process).
 * Training runs outside the main process's event loop: a `child_process.fork()` child in Node
 * (`digits serve`, tests), an Electron `utilityProcess.fork()` child in the desktop app. The
 * host only sees a TrainingChild, so the way the child is started is injected.
 *
 *   child  -> parent  ready                      (the worker listens; the host then sends start)
 *   parent -> child   start {runDir, request, dataDir?, backend?}
 *   child  -> parent  event {event: TrainingEvent} (every trainer event; the host throttles)
 *   parent -> child   pause | resume | stop
 *   child  -> parent  paused {step}              (the worker is now waiting before step+1)
 *   child  -> parent  stopped {step, totalSteps, modelDir, testAccuracy} (checkpoint + model) | done {modelDir, testAccuracy, step}
 *                     | error {message}           ... and the child exits.
 */
import type { BackendName } from '../ml/backend.ts';
import type { TrainingEvent } from '../ml/trainer.ts';
import type { TrainingRequest } from './contract.ts';

export interface StartMessage {
  type: 'start';
  runDir: string;
  request: TrainingRequest;
  dataDir?: string;
  backend?: BackendName;
  /** Fine-tune this model folder (request.startFrom 'current'). */
  fromModelDir?: string;
  /** The starting model's name for the new model's metadata (default: the folder's name). */
  fromModelName?: string;
  /** The "My digits" collection and the cache of its model inputs (request.data other than 'mnist'). */
  pictures?: { dir: string; cacheDir: string };
}

export type ParentMessage = StartMessage | { type: 'pause' } | { type: 'resume' } | { type: 'stop' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'event'; event: TrainingEvent }
  | { type: 'paused'; step: number }
  /** Checkpoint and model folder written (no model when stopped before the first step). */
  | { type: 'stopped'; step: number; totalSteps: number; modelDir: string | null; testAccuracy: number | null }
  | {
      type: 'done';
      modelDir: string;
      testAccuracy: number;
      step: number;
      imagesAccuracy?: number;
      before?: { testAccuracy: number; imagesAccuracy?: number };
    }
  | { type: 'error'; message: string };

export interface ChildExit {
  code: number | null;
  signal: string | null;
}

/** A started training child, however it was started. */
export interface TrainingChild {
  send(message: ParentMessage): void;
  onMessage(listener: (message: ChildMessage) => void): void;
  /** Called once, after the child ended and its last messages were delivered. */
  onExit(listener: (exit: ChildExit) => void): void;
  kill(): void;
}

/** Starts a new training child. */
export type ForkTrainer = () => TrainingChild;
