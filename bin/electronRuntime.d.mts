/** Electron's binary and its `--version`, or why it cannot run here (never downloads anything). */
export function findElectronRuntime(): { binary: string; version: string; problem?: undefined } | { problem: string; binary?: undefined; version?: undefined };
