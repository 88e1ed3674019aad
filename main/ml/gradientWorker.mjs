// Entry of a gradient worker thread when running from the TypeScript sources (CLI, tests, bench):
// a worker thread does not inherit the tsx loader of its parent, so it registers its own.
// The Electron build compiles gradientWorker.ts to out/main/gradientWorker.js instead.
import { register } from 'tsx/esm/api';

register();
await import('./gradientWorker.ts');
