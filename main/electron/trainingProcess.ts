/**
 * Training children in the desktop app: Electron's utilityProcess (a Node child that Electron
 * manages; tfjs-node works there, unlike in worker threads). The worker is the bundled
 * main/app/trainingWorker.ts (out/main/trainingWorker.js). Its Node counterpart, for `digits serve`
 * and tests, is forkNodeTrainer in main/app/nodeTrainingProcess.ts.
 */
import { utilityProcess } from 'electron';
import type { ChildMessage, ForkTrainer } from '../app/trainingProtocol.ts';

export function forkUtilityTrainer(workerPath: string): ForkTrainer {
  return () => {
    const child = utilityProcess.fork(workerPath, [], { serviceName: 'Digit Studio training', stdio: 'inherit' });
    return {
      send: (message) => child.postMessage(message),
      onMessage: (listener) => child.on('message', (message: unknown) => listener(message as ChildMessage)),
      onExit: (listener) => child.once('exit', (code) => listener({ code, signal: null })),
      kill: () => {
        child.kill();
      },
    };
  };
}
