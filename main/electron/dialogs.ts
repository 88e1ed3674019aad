/** The native dialogs the studio service asks for: a folder chooser and "replace this folder?". */
import { dialog, type BrowserWindow, type OpenDialogOptions } from 'electron';

export function folderDialogs(window: () => BrowserWindow | null) {
  return {
    async chooseFolder(purpose: 'export' | 'import'): Promise<string | null> {
      const options: OpenDialogOptions =
        purpose === 'export'
          ? { title: 'Export the model to a folder', buttonLabel: 'Export here', properties: ['openDirectory', 'createDirectory'] }
          : { title: 'Import a model folder', buttonLabel: 'Import', properties: ['openDirectory'] };
      const win = window();
      const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },

    async confirmOverwrite(dir: string): Promise<boolean> {
      const options = {
        type: 'warning' as const,
        buttons: ['Replace', 'Cancel'],
        defaultId: 1,
        cancelId: 1,
        message: 'This folder is not empty.',
        detail: `Replace the contents of ${dir} with the model?`,
      };
      const win = window();
      const { response } = win ? await dialog.showMessageBox(win, options) : await dialog.showMessageBox(options);
      return response === 0;
    },
  };
}
