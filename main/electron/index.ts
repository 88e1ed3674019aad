/**
 * The desktop app's entry: one locked-down window showing the renderer, the studio service behind
 * IPC, training in a utility process. Everything else lives in main/app (shared with `digits serve`).
 */
import { BrowserWindow, Menu, app, ipcMain, session, type MenuItemConstructorOptions } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStudioService } from '../app/studioService.ts';
import { folderDialogs } from './dialogs.ts';
import { registerStudioIpc, trustedSender } from './ipc.ts';
import { RENDERER_URL, isRendererUrl } from './rendererFiles.ts';
import { registerRendererScheme, serveRenderer } from './rendererProtocol.ts';
import { forkUtilityTrainer } from './trainingProcess.ts';

// Built layout: out/main/index.js (this file), out/main/trainingWorker.js, out/preload/index.cjs, out/renderer/.
const here = path.dirname(fileURLToPath(import.meta.url));
/** Set by `electron-vite dev` only; the page then comes from the dev server. */
const devServerUrl = process.env.ELECTRON_RENDERER_URL;

let window: BrowserWindow | null = null;

app.enableSandbox();
registerRendererScheme();

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Digit Studio',
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  // The window only ever shows our renderer: no navigation, no new windows.
  win.webContents.on('will-navigate', (event) => event.preventDefault());
  win.webContents.on('will-redirect', (event) => event.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  void win.loadURL(devServerUrl ?? RENDERER_URL);
  return win;
}

function minimalMenu(): Menu {
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { label: 'View', submenu: [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }, ...(devServerUrl ? [{ role: 'toggleDevTools' as const }] : [])] },
    { role: 'windowMenu' },
  ];
  return Menu.buildFromTemplate(template);
}

async function start(): Promise<void> {
  await app.whenReady();
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  serveRenderer(ses, path.join(here, '../renderer'));
  Menu.setApplicationMenu(minimalMenu());

  const dialogs = folderDialogs(() => window);
  const service = createStudioService({
    workspaceDir: app.getPath('userData'),
    shell: 'electron',
    version: app.getVersion(),
    chooseFolder: dialogs.chooseFolder,
    confirmOverwrite: dialogs.confirmOverwrite,
    forkTrainer: forkUtilityTrainer(path.join(here, 'trainingWorker.js')),
  });
  registerStudioIpc({
    ipcMain,
    handlers: service.handlers,
    events: service.events,
    isTrustedSender: trustedSender(() => window, (url) => isRendererUrl(url, devServerUrl)),
    target: () => window?.webContents ?? null,
  });

  window = createWindow();
  window.on('closed', () => (window = null));
  app.on('activate', () => {
    if (!window) window = createWindow();
  });

  // Quitting stops a running training run first, so it is left resumable from a fresh checkpoint.
  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    quitting = true;
    void service.dispose().finally(() => app.quit());
  });
}

// Any other webContents (there should be none) gets the same restrictions.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});
app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

if (!app.requestSingleInstanceLock()) {
  // One app per workspace: a second instance would race the first over runs and the current model.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (window?.isMinimized()) window.restore();
    window?.focus();
  });
  start().catch((error: unknown) => {
    console.error('Digit Studio failed to start:', error);
    app.exit(1);
  });
}
