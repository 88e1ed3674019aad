/**
 * Exporting and importing model folders. In Electron main shows a native folder chooser; in the
 * browser mode (digits serve) there is none, so the user types a folder path on the server. An
 * export into a non-empty folder asks before overwriting.
 */
import type { ExportResult, ModelInfo, StudioApi } from '../lib/contract.ts';
import type { Notices } from './notices.svelte.ts';

export type TransferDialog =
  | { kind: 'export-path' }
  | { kind: 'import-path' }
  | { kind: 'confirm-overwrite'; dir: string };

interface TransferHost {
  shell(): 'electron' | 'browser';
  onImported(model: ModelInfo): void;
}

export class ModelTransfer {
  dialog = $state.raw<TransferDialog | null>(null);
  busy = $state(false);
  /** Where the last export went, shown next to the button. */
  lastExport = $state<string | null>(null);

  readonly #api: StudioApi;
  readonly #notices: Notices;
  readonly #host: TransferHost;

  constructor(api: StudioApi, notices: Notices, host: TransferHost) {
    this.#api = api;
    this.#notices = notices;
    this.#host = host;
  }

  /** Export button: a folder chooser (Electron) or the path dialog (browser mode). */
  startExport(): Promise<void> {
    if (this.#host.shell() === 'browser') {
      this.dialog = { kind: 'export-path' };
      return Promise.resolve();
    }
    return this.exportTo(undefined, false);
  }

  startImport(): Promise<void> {
    if (this.#host.shell() === 'browser') {
      this.dialog = { kind: 'import-path' };
      return Promise.resolve();
    }
    return this.importFrom(undefined);
  }

  async exportTo(dir: string | undefined, overwrite: boolean): Promise<void> {
    this.dialog = null;
    await this.#busy(async () => {
      const payload: { dir?: string; overwrite?: boolean } = {};
      if (dir !== undefined) payload.dir = dir;
      if (overwrite) payload.overwrite = true;
      this.#exported(await this.#api.exportModel(payload));
    }, 'Could not export the model');
  }

  async importFrom(dir: string | undefined): Promise<void> {
    this.dialog = null;
    await this.#busy(async () => {
      const model = await this.#api.importModel(dir === undefined ? {} : { dir });
      if (model === null) return;
      this.#host.onImported(model);
      this.#notices.success(`Imported the model from ${model.dir}.`);
      for (const note of model.notes ?? []) this.#notices.info(note);
    }, 'Could not import the model');
  }

  cancel(): void {
    this.dialog = null;
  }

  #exported(result: ExportResult): void {
    switch (result.status) {
      case 'exported':
        this.lastExport = result.dir;
        this.#notices.success(`Model exported to ${result.dir}.`);
        break;
      case 'needs-confirmation':
        this.dialog = { kind: 'confirm-overwrite', dir: result.dir };
        break;
      case 'cancelled':
        break;
    }
  }

  async #busy(action: () => Promise<void>, doing: string): Promise<void> {
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
