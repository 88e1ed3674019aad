/**
 * `digits serve`: the desktop app's UI in a web browser. Serves the built renderer and plays the
 * main side over a WebSocket, with the same service (handlers) the Electron app uses.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.ts';
import { openInBrowser } from './openBrowser.ts';
import { intFlag, printJson, stringFlag, workspaceFlag, type Command } from './options.ts';

/** The renderer as `npm run build` (electron-vite) leaves it; DIGITS_RENDERER_DIR points elsewhere (tests, packaging). */
export function rendererDir(): string {
  return path.resolve(process.env.DIGITS_RENDERER_DIR || fileURLToPath(new URL('../../out/renderer', import.meta.url)));
}
const DEFAULT_HOST = '127.0.0.1';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export const serveCommand: Command = {
  async run(flags) {
    const port = intFlag(flags, 'port', 0, 65_535) ?? 0;
    const host = stringFlag(flags, 'host') ?? DEFAULT_HOST;
    if (host === '') throw new UsageError('--host must not be empty');
    const workspaceDir = workspaceFlag(flags);
    const backend = stringFlag(flags, 'backend');
    const json = flags.json === true;
    const staticDir = rendererDir();
    if (!existsSync(path.join(staticDir, 'index.html'))) {
      throw new Error(`the app's web page is not built (${staticDir} has no index.html): run \`npm run build\` first`);
    }

    const [{ createStudioService }, { browserView }, { startServer }, { isBackendName }] = await Promise.all([
      import('../app/studioService.ts'),
      import('../app/browserView.ts'),
      import('../server/server.ts'),
      import('../ml/backend.ts'),
    ]);
    if (backend !== undefined && !isBackendName(backend)) {
      throw new UsageError(`--backend must be native, wasm or cpu, not '${backend}'`);
    }
    const service = await createStudioService({ workspaceDir, shell: 'browser', backend });
    let server;
    try {
      server = await startServer({
        port,
        host,
        // Pages are told no server paths (model folders): browserView.ts.
        ...browserView(service),
        staticDir,
        log: (line) => console.error(line),
      });
    } catch (error) {
      await service.dispose();
      throw error;
    }

    const info = await service.handlers.getAppInfo();
    console.error(`Backend: ${info.backend.name} (${info.backend.reason})`);
    console.error(`Workspace (runs and the current model): ${workspaceDir}`);
    console.error('In the page, Export downloads the model as a .zip and Import uploads a model folder, its files or a zip.');
    if (!LOOPBACK.has(host)) {
      console.error(
        `Warning: listening on ${host}, not only this machine. Anyone who can reach it and has the URL can use ` +
          'Digit Studio and read/write folders as you; the connection is not encrypted.',
      );
    }
    if (json) printJson({ url: server.url });
    else console.log(`Digit Studio is running. Open this address in a browser (Ctrl+C stops):\n\n  ${server.url}\n`);
    if (flags.open === true) {
      const outcome = await openInBrowser(server.url);
      console.error(outcome.opened ? `Opened it in your default browser (${outcome.command}).` : `Not opening a browser: ${outcome.reason}.`);
    }

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    console.error(`digits serve: ${signal}, shutting down`);
    await server.close();
    await service.dispose();
    return 0;
  },
};
