/**
 * The preload: exposes exactly a StudioApi as `window.studio`, one method per request, and event
 * subscription. ipcRenderer itself is never exposed, and listeners never see the IPC event.
 *
 * Errors: main answers every request with an envelope (main/electron/ipc.ts); a failed one makes
 * the method reject with a plain `{ message, code? }` object (StudioErrorInfo), because an Error
 * crossing contextBridge keeps only its message. Read `error.message` / `error.code`.
 *
 * Built as CommonJS (out/preload/index.cjs): sandboxed preloads cannot be ES modules.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  EVENT_NAMES,
  eventChannel,
  requestChannel,
  type Payload,
  type RequestName,
  type Response,
  type StudioApi,
  type StudioEvents,
} from '../main/app/contract.ts';
import { fromEnvelope } from '../main/app/errors.ts';

async function invoke<K extends RequestName>(name: K, payload?: Payload<K>): Promise<Response<K>> {
  return fromEnvelope<Response<K>>(await ipcRenderer.invoke(requestChannel(name), payload));
}

const api = {
  getAppInfo: () => invoke('getAppInfo'),
  startTraining: (payload) => invoke('startTraining', payload),
  resumeRun: (payload) => invoke('resumeRun', payload),
  pauseTraining: () => invoke('pauseTraining'),
  resumeTraining: () => invoke('resumeTraining'),
  stopTraining: () => invoke('stopTraining'),
  getTrainingSnapshot: () => invoke('getTrainingSnapshot'),
  listRuns: () => invoke('listRuns'),
  getCurrentModel: () => invoke('getCurrentModel'),
  evaluateModel: () => invoke('evaluateModel'),
  getTestImages: (payload) => invoke('getTestImages', payload),
  predictImages: (payload) => invoke('predictImages', payload),
  exportModel: () => invoke('exportModel'),
  importModel: () => invoke('importModel'),
  downloadModel: () => invoke('downloadModel'),
  uploadModel: (payload) => invoke('uploadModel', payload),
  listMyDigits: () => invoke('listMyDigits'),
  addMyDigits: (payload) => invoke('addMyDigits', payload),
  importMyDigits: (payload) => invoke('importMyDigits', payload),
  removeMyDigit: (payload) => invoke('removeMyDigit', payload),
  relabelMyDigit: (payload) => invoke('relabelMyDigit', payload),
  evaluateMyDigits: () => invoke('evaluateMyDigits'),
  exportRunModel: (payload) => invoke('exportRunModel', payload),
  downloadRunModel: (payload) => invoke('downloadRunModel', payload),
  useRunModel: (payload) => invoke('useRunModel', payload),
  getModelOffer: () => invoke('getModelOffer'),
  dismissModelOffer: () => invoke('dismissModelOffer'),
  labelRun: (payload) => invoke('labelRun', payload),
  deleteRun: (payload) => invoke('deleteRun', payload),
  getRunCurves: (payload) => invoke('getRunCurves', payload),
  on<E extends keyof StudioEvents>(event: E, listener: (payload: StudioEvents[E]) => void): () => void {
    if (!(EVENT_NAMES as readonly string[]).includes(event)) throw new Error(`Unknown event '${String(event)}'`);
    const channel = eventChannel(event);
    const forward = (_event: IpcRendererEvent, payload: StudioEvents[E]) => listener(payload);
    ipcRenderer.on(channel, forward);
    return () => {
      ipcRenderer.removeListener(channel, forward);
    };
  },
} satisfies StudioApi;

contextBridge.exposeInMainWorld('studio', api);
