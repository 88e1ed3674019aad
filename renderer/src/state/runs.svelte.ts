/**
 * The Models & runs area: every run of the workspace (listed by main, read lazily from the run
 * folders), sorted and filtered here; rename, note, delete, "use this model"; and the 2-4 runs
 * picked for comparison with their curves (fetched only when compared).
 */
import type { ModelInfo, RunCurves, RunSummary, StudioApi } from '../lib/contract.ts';
import { NO_FILTER, filterRuns, sortRuns, type CurveAxis, type RunFilter, type RunSortKey } from '../lib/runTable.ts';
import type { Notices } from './notices.svelte.ts';

export const MAX_COMPARED = 4;

interface RunsHost {
  /** The current model changed through this view ("use this model"). */
  onModelChanged(model: ModelInfo): void;
}

export class Runs {
  list = $state.raw<RunSummary[]>([]);
  loaded = $state(false);
  sortKey = $state<RunSortKey>('updatedAt');
  descending = $state(true);
  filter = $state.raw<RunFilter>(NO_FILTER);
  /** Run ids picked for comparison, in the order picked. */
  compared = $state.raw<string[]>([]);
  curves = $state.raw<RunCurves[]>([]);
  axis = $state<CurveAxis>('step');
  /** A request is in flight (buttons wait). */
  busy = $state(false);

  readonly #api: StudioApi;
  readonly #notices: Notices;
  readonly #host: RunsHost;
  #refreshing: Promise<void> | null = null;

  constructor(api: StudioApi, notices: Notices, host: RunsHost) {
    this.#api = api;
    this.#notices = notices;
    this.#host = host;
  }

  get shown(): RunSummary[] {
    return sortRuns(filterRuns(this.list, this.filter), this.sortKey, this.descending);
  }

  get comparedRuns(): RunSummary[] {
    return this.compared.map((id) => this.list.find((r) => r.runId === id)).filter((r): r is RunSummary => r !== undefined);
  }

  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        this.list = await this.#api.listRuns();
        this.loaded = true;
        // Runs deleted elsewhere leave the comparison.
        const listed = (id: string) => this.list.some((r) => r.runId === id);
        if (!this.compared.every(listed)) this.compared = this.compared.filter(listed);
      } catch (error) {
        this.#notices.error(error, 'Could not list the runs');
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  sortBy(key: RunSortKey): void {
    if (this.sortKey === key) this.descending = !this.descending;
    else {
      this.sortKey = key;
      this.descending = key !== 'name' && key !== 'preset' && key !== 'status';
    }
  }

  setFilter(change: Partial<RunFilter>): void {
    this.filter = { ...this.filter, ...change };
  }

  isCompared(runId: string): boolean {
    return this.compared.includes(runId);
  }

  /** Adds or removes a run from the comparison (at most MAX_COMPARED); loads the curves when 2 or more. */
  async toggleCompared(runId: string): Promise<void> {
    if (this.isCompared(runId)) this.compared = this.compared.filter((id) => id !== runId);
    else if (this.compared.length >= MAX_COMPARED) {
      this.#notices.error(`Compare at most ${MAX_COMPARED} runs at once; untick one first.`);
      return;
    } else this.compared = [...this.compared, runId];
    await this.loadCurves();
  }

  async loadCurves(): Promise<void> {
    const ids = this.compared;
    if (ids.length < 2) {
      this.curves = [];
      return;
    }
    try {
      const curves = await this.#api.getRunCurves({ runIds: ids });
      if (this.compared === ids) this.curves = curves;
    } catch (error) {
      this.#notices.error(error, 'Could not read the curves of the compared runs');
    }
  }

  rename(runId: string, name: string, note: string): Promise<void> {
    return this.#act('Could not save the name and note', async () => {
      const updated = await this.#api.labelRun({ runId, name, note });
      this.list = this.list.map((r) => (r.runId === runId ? updated : r));
    });
  }

  delete(runId: string): Promise<void> {
    return this.#act('Could not delete the run', async () => {
      await this.#api.deleteRun({ runId });
      this.list = this.list.filter((r) => r.runId !== runId);
      if (this.isCompared(runId)) {
        this.compared = this.compared.filter((id) => id !== runId);
        await this.loadCurves();
      }
      this.#notices.success('Run deleted.');
    });
  }

  use(runId: string): Promise<void> {
    return this.#act('Could not use the model of this run', async () => {
      const model = await this.#api.useRunModel({ runId });
      this.#host.onModelChanged(model);
      this.#notices.success(`Now using the model of ${this.list.find((r) => r.runId === runId)?.name ?? runId}.`);
    });
  }

  async #act(doing: string, action: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await action();
    } catch (error) {
      this.#notices.error(error, doing);
    } finally {
      this.busy = false;
    }
  }
}
