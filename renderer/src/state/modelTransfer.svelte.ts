/**
 * Exporting and importing models, where the user is. In the desktop app main asks the user (its
 * native folder chooser, and before replacing a previous model); the window never names a path.
 * In the browser version export is a download (one .zip of the model folder) and import an
 * upload (the folder, its files or a zip). Failures show inside the dialog the user is in.
 */
import type { FileUpload, ModelInfo, StudioApi } from '../lib/contract.ts';
import { saveFile } from '../lib/download.ts';
import { errorMessage } from '../lib/errors.ts';
import type { PickedFile } from '../lib/imageFiles.ts';
import type { Notices } from './notices.svelte.ts';

export type TransferDialog =
  /** Browser: export as a download. */
  | { kind: 'download' }
  /** Browser: import by picking or dropping files. */
  | { kind: 'upload' }
  /** Desktop: what went wrong after main's own dialogs. */
  | { kind: 'failed'; title: string };

interface TransferHost {
  shell(): 'electron' | 'browser';
  onImported(model: ModelInfo): void;
  /** Saves a download (default: the browser's download); injectable for tests. */
  save?(name: string, data: Blob): void;
}

/** How the user would name what they uploaded: the zip, the folder, or the files. */
function uploadLabel(files: readonly PickedFile[]): string {
  if (files.length === 1) return files[0].name;
  const folder = files[0].name.includes('/') ? files[0].name.slice(0, files[0].name.indexOf('/')) : null;
  return folder && files.every((file) => file.name.startsWith(`${folder}/`)) ? folder : files.map((file) => file.name).join(', ');
}

export class ModelTransfer {
  dialog = $state.raw<TransferDialog | null>(null);
  busy = $state(false);
  /** What went wrong, shown inside the open dialog (null: nothing). */
  error = $state<string | null>(null);
  /** Where the last export went (a folder, or the downloaded file's name), shown next to the button. */
  lastExport = $state<string | null>(null);

  readonly #api: StudioApi;
  readonly #notices: Notices;
  readonly #host: TransferHost;

  constructor(api: StudioApi, notices: Notices, host: TransferHost) {
    this.#api = api;
    this.#notices = notices;
    this.#host = host;
  }

  /** Export button: main's folder chooser (desktop) or the download dialog (browser). */
  startExport(): Promise<void> {
    if (this.#host.shell() === 'browser') return this.#open({ kind: 'download' });
    return this.#run('Could not export the model', async () => {
      const result = await this.#api.exportModel();
      if (result.status === 'exported') this.#exported(result.dir, `Model exported to ${result.dir}.`);
    });
  }

  /** Import button: main's folder chooser (desktop) or the upload dialog (browser). */
  startImport(): Promise<void> {
    if (this.#host.shell() === 'browser') return this.#open({ kind: 'upload' });
    return this.#run('Could not import the model', async () => {
      const model = await this.#api.importModel();
      if (model) this.#imported(model, `Imported the model from ${model.dir ?? model.name}.`);
    });
  }

  /**
   * Exports the model of run `runId` (Models & runs): main's folder chooser on the desktop, a
   * download of its zip in the browser.
   */
  exportRun(runId: string): Promise<void> {
    if (this.#host.shell() === 'browser') {
      return this.#run('Could not export the model', async () => {
        const file = await this.#api.downloadRunModel({ runId });
        (this.#host.save ?? saveFile)(file.name, new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
        this.#exported(file.name, `Model downloaded as ${file.name}.`);
      });
    }
    return this.#run('Could not export the model', async () => {
      const result = await this.#api.exportRunModel({ runId });
      if (result.status === 'exported') this.#exported(result.dir, `Model exported to ${result.dir}.`);
    });
  }

  /** Browser: fetches the model folder as one zip and hands it to the browser's download. */
  download(): Promise<void> {
    return this.#run('Could not export the model', async () => {
      const file = await this.#api.downloadModel();
      (this.#host.save ?? saveFile)(file.name, new Blob([file.bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
      this.#exported(file.name, `Model downloaded as ${file.name}.`);
    });
  }

  /** Browser: sends the picked or dropped files (a model folder's, or one zip) to be loaded. */
  upload(files: readonly PickedFile[]): Promise<void> {
    if (files.length === 0) return Promise.resolve();
    return this.#run('Could not import the model', async () => {
      const uploads: FileUpload[] = await Promise.all(files.map(async (picked) => ({ name: picked.name, bytes: new Uint8Array(await picked.file.arrayBuffer()) })));
      const model = await this.#api.uploadModel({ files: uploads });
      this.#imported(model, `Imported the model from ${uploadLabel(files)}.`);
    });
  }

  cancel(): void {
    if (this.busy) return;
    this.dialog = null;
    this.error = null;
  }

  async #open(dialog: TransferDialog): Promise<void> {
    this.error = null;
    this.dialog = dialog;
  }

  #exported(where: string, message: string): void {
    this.lastExport = where;
    this.dialog = null;
    this.error = null;
    this.#notices.success(message);
  }

  #imported(model: ModelInfo, message: string): void {
    this.#host.onImported(model);
    this.dialog = null;
    this.error = null;
    this.#notices.success(message);
    for (const note of model.notes ?? []) this.#notices.info(note);
  }

  /** Runs one transfer; a failure is shown in the open dialog, or in a dialog of its own. */
  async #run(failedTitle: string, action: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.error = null;
    try {
      await action();
    } catch (error) {
      this.error = errorMessage(error);
      if (this.dialog === null || this.dialog.kind === 'failed') this.dialog = { kind: 'failed', title: failedTitle };
    } finally {
      this.busy = false;
    }
  }
}
