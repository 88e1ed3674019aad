/**
 * Training children outside Electron (`digits serve`, development, tests): a Node
 * child_process.fork of main/app/trainingWorker.ts, compiled on the fly by tsx. Its Electron
 * counterpart, forkUtilityTrainer in main/electron/trainingProcess.ts, makes the same kind of
 * ForkTrainer from Electron's utilityProcess.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildMessage, ForkTrainer } from './trainingProtocol.ts';

export function forkNodeTrainer(workerPath = fileURLToPath(new URL('./trainingWorker.ts', import.meta.url))): ForkTrainer {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return () => {
    const child = fork(workerPath, [], { execArgv: ['--import', tsx], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return {
      send: (message) => {
        if (child.connected) child.send(message);
      },
      onMessage: (listener) => child.on('message', (message) => listener(message as ChildMessage)),
      // 'close' comes after the IPC channel has delivered the child's last messages ('exit' may not).
      onExit: (listener) => child.once('close', (code, signal) => listener({ code, signal })),
      kill: () => {
        child.kill('SIGKILL');
      },
    };
  };
}
