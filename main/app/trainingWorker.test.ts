import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('the training child', () => {
  it('runs below normal priority, so the window stays smooth while training takes every core', async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const workerPath = fileURLToPath(new URL('./trainingWorker.ts', import.meta.url));
    const child = fork(workerPath, [], { execArgv: ['--import', tsx], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve()); // its first message is 'ready'
        child.once('exit', (code) => reject(new Error(`the training child exited (${code}) before it was ready`)));
      });
      expect(os.getPriority(child.pid)).toBeGreaterThanOrEqual(10);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
