/**
 * What the browser mode (`digits serve`) tells a page about models: everything but the server's
 * folders. A page may be opened from another machine, and the server's absolute paths (its user
 * name, its layout) are none of its business; the model's `name` (run id or folder name) is shown
 * instead, and a run's model folder is given relative to the runs folder. The desktop app keeps the paths: its window belongs to the user whose disk it is.
 */
import path from 'node:path';
import type { ModelInfo, ModelOffer, RequestName, Response, RunSummary, StudioEvents, StudioHandlers } from './contract.ts';
import type { StudioServiceEvents } from './studioService.ts';

/** A model's info without its folder; notes naming the folder name the model instead. */
export function browserModelInfo(info: ModelInfo): ModelInfo {
  const { dir, ...rest } = info;
  if (dir === undefined) return info;
  const notes = info.notes?.map((note) => note.split(dir).join(info.name).split(`${path.dirname(dir)}${path.sep}`).join(''));
  return notes ? { ...rest, notes } : rest;
}

function browserOffer(offer: ModelOffer | null): ModelOffer | null {
  return offer && { ...offer, model: browserModelInfo(offer.model), current: browserModelInfo(offer.current) };
}

const withModel = <T extends { model: ModelInfo }>(value: T): T => ({ ...value, model: browserModelInfo(value.model) });
const maybeModel = (info: ModelInfo | null): ModelInfo | null => info && browserModelInfo(info);

/** A run as listed to a page: its model folder relative to the runs folder (`<runId>/model`), not absolute. */
function browserRun(run: RunSummary): RunSummary {
  return run.modelDir === null ? run : { ...run, modelDir: `${run.runId}/${path.basename(run.modelDir)}` };
}

/** The responses that carry a ModelInfo or a run's model folder, each with its browser view (the others pass unchanged). */
const RESPONSE_VIEWS: { [K in RequestName]?: (response: Response<K>) => Response<K> } = {
  getCurrentModel: maybeModel,
  importModel: maybeModel,
  uploadModel: browserModelInfo,
  useRunModel: browserModelInfo,
  evaluateModel: withModel,
  evaluateMyDigits: withModel,
  getModelOffer: browserOffer,
  listRuns: (runs) => runs.map(browserRun),
  labelRun: browserRun,
};

/** The handlers as the browser mode answers them: no model folder in any response. */
export function browserHandlers(handlers: StudioHandlers): StudioHandlers {
  const wrapped: Record<string, (payload: never) => Promise<unknown>> = { ...handlers };
  for (const [name, view] of Object.entries(RESPONSE_VIEWS) as [RequestName, (response: never) => unknown][]) {
    const handler = handlers[name] as unknown as (payload: never) => Promise<never>;
    wrapped[name] = async (payload) => view(await handler(payload));
  }
  return wrapped as unknown as StudioHandlers;
}

/** An event as the browser mode pushes it: no model folder in it. */
export function browserEvent<E extends keyof StudioEvents>(event: E, payload: StudioEvents[E]): StudioEvents[E] {
  const views: { [K in keyof StudioEvents]: (payload: StudioEvents[K]) => StudioEvents[K] } = {
    modelChanged: browserModelInfo,
    modelOffer: browserOffer,
    training: (update) => (update.type === 'done' ? withModel(update) : update),
    evaluationProgress: (report) => report,
  };
  return views[event](payload);
}

/** A studio service's handlers and events as `digits serve` gives them to pages. */
export function browserView(service: { handlers: StudioHandlers; events: StudioServiceEvents }): { handlers: StudioHandlers; events: StudioServiceEvents } {
  return {
    handlers: browserHandlers(service.handlers),
    events: { on: (event, listener) => service.events.on(event, (payload) => listener(browserEvent(event, payload))) },
  };
}
