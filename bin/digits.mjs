#!/usr/bin/env node
// The `digits` command. The sources are TypeScript; tsx compiles them on the fly so the
// command works straight after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../main/cli/digits.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
