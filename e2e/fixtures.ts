/**
 * The `studio` fixture: the app's window, whichever shell runs it.
 * - project 'browser': a Chromium page on the `digits serve` started by globalSetup.ts;
 * - project 'electron': the desktop app through Playwright's `_electron`, when an Electron runtime
 *   is installed (skipped here with the reason otherwise).
 * `studio.call` reaches the app's API directly for preconditions (import a model, stop a run), so a
 * spec needs no other spec to have run first; what a spec checks, it checks through the window.
 */
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test as base, expect, _electron, type ElectronApplication, type Page } from '@playwright/test';
import WebSocket from 'ws';
import type { Payload, RequestName, Response } from '../main/app/contract.ts';
import { ELECTRON_MAIN, ROOT, electronUnavailable } from './electron.ts';
import type { PageGlobals } from './pageGlobals.ts';
import { createSocketApi, type SocketConstructor, type SocketStudioApi } from '../renderer/src/lib/socketApi.ts';

export const ARTIFACTS = path.join(ROOT, 'e2e-artifacts');

export type Shell = 'browser' | 'electron';

export interface Studio {
  shell: Shell;
  page: Page;
  /** The app's API, for preconditions only. */
  call<K extends RequestName>(method: K, ...payload: Payload<K> extends void ? [] : [Payload<K>]): Promise<Response<K>>;
  /** Saves a full-page screenshot as e2e-artifacts/<shell>-<name>.png. */
  screenshot(name: string): Promise<void>;
  /** Makes the window's current model the small one trained by globalSetup. */
  useFixtureModel(): Promise<void>;
  /** Stops any active training run and waits until it has ended. */
  ensureIdle(): Promise<void>;
  /** A fresh folder for this test (exports, pictures). */
  tempDir(): Promise<string>;
  /**
   * Electron only (the browser version has no folder dialogs: it downloads and uploads): the
   * native folder chooser answers `dir`, and "replace this folder?" answers `replace`.
   */
  answerNativeDialogs(dir: string, replace?: boolean): Promise<void>;
  /** The model folder's files as the browser would upload them. */
  fixtureModelFiles(): Promise<{ name: string; bytes: Uint8Array }[]>;
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the e2e tests run through playwright.config.ts (its globalSetup starts digits serve)`);
  return value;
}

async function waitForApp(page: Page): Promise<void> {
  await expect(page.getByRole('tab', { name: 'Train' })).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('#panel-train')).toBeAttached({ timeout: 30_000 });
}

interface WorkerFixtures {
  nodeApi: SocketStudioApi | null;
  electronApp: ElectronApplication | null;
}

export const test = base.extend<{ studio: Studio }, WorkerFixtures>({
  nodeApi: [
    async ({}, use, workerInfo) => {
      if (workerInfo.project.name !== 'browser') return use(null);
      const url = new URL(env('DIGITS_E2E_URL'));
      const api = createSocketApi(`ws://${url.host}/ws?token=${url.searchParams.get('token')}`, {
        WebSocket: WebSocket as unknown as SocketConstructor,
      });
      await use(api);
      api.close();
    },
    { scope: 'worker' },
  ],
  electronApp: [
    async ({}, use, workerInfo) => {
      if (workerInfo.project.name !== 'electron' || electronUnavailable() !== null) return use(null);
      const workspace = await mkdtemp(path.join(tmpdir(), 'digits-e2e-electron-'));
      // The app keeps its workspace in app.getPath('userData'), which is $XDG_CONFIG_HOME/<app> on Linux:
      // a throwaway config folder keeps the tests away from the user's runs and model.
      const app = await _electron.launch({ args: [ELECTRON_MAIN], env: { ...process.env, XDG_CONFIG_HOME: workspace } });
      await use(app);
      await app.close();
    },
    { scope: 'worker' },
  ],
  studio: async ({ nodeApi, electronApp, browser }, use, testInfo) => {
    const shell = testInfo.project.name as Shell;
    let page: Page;
    let call: Studio['call'];
    if (shell === 'electron') {
      const reason = electronUnavailable();
      testInfo.skip(reason !== null, reason ?? '');
      page = await electronApp!.firstWindow();
      await page.reload();
      call = ((method: RequestName, payload?: unknown) =>
        page.evaluate(
          ([m, p]) => (globalThis as unknown as PageGlobals).studio![m as string](p),
          [method, payload] as const,
        )) as Studio['call'];
    } else {
      const context = await browser.newContext();
      page = await context.newPage();
      await page.goto(env('DIGITS_E2E_URL'));
      call = ((method: RequestName, payload?: unknown) =>
        (nodeApi as unknown as Record<string, (p?: unknown) => Promise<unknown>>)[method](payload)) as Studio['call'];
    }
    // The server's CSP header and the page's own must let the app do everything it does.
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await waitForApp(page);
    let temps = 0;
    const studio: Studio = {
      shell,
      page,
      call,
      async screenshot(name) {
        await page.screenshot({ path: path.join(ARTIFACTS, `${shell}-${name}.png`), fullPage: true });
      },
      async useFixtureModel() {
        let model;
        if (shell === 'electron') {
          await studio.answerNativeDialogs(env('DIGITS_E2E_MODEL'));
          model = await call('importModel');
        } else {
          model = await call('uploadModel', { files: await studio.fixtureModelFiles() });
        }
        expect(model?.name).toBeTruthy();
      },
      async fixtureModelFiles() {
        const dir = env('DIGITS_E2E_MODEL');
        return Promise.all(['model.json', 'weights.bin', 'metadata.json'].map(async (name) => ({ name, bytes: new Uint8Array(await readFile(path.join(dir, name))) })));
      },
      async ensureIdle() {
        const snapshot = await call('getTrainingSnapshot');
        if (['running', 'paused', 'stopping'].includes(snapshot.state)) {
          if (snapshot.state !== 'stopping') await call('stopTraining');
          await expect
            .poll(async () => (await call('getTrainingSnapshot')).state, { timeout: 30_000 })
            .not.toMatch(/^(running|paused|stopping)$/);
        }
      },
      async answerNativeDialogs(dir, replace = true) {
        if (shell !== 'electron') throw new Error('the browser version has no folder dialogs');
        await electronApp!.evaluate(
          ({ dialog }, [folder, answer]) => {
            dialog.showOpenDialog = (async () => ({ canceled: false, filePaths: [folder] })) as typeof dialog.showOpenDialog;
            dialog.showMessageBox = (async () => ({ response: answer ? 0 : 1, checkboxChecked: false })) as typeof dialog.showMessageBox;
          },
          [dir, replace] as const,
        );
      },
      async tempDir() {
        const dir = path.join(env('DIGITS_E2E_ROOT'), 'tests', `${testInfo.testId}-${temps++}`);
        await mkdir(dir, { recursive: true });
        return dir;
      },
    };
    await use(studio);
    expect(cspViolations, 'Content Security Policy violations in the window').toEqual([]);
    if (shell === 'browser') await page.context().close();
  },
});

export { expect };
