/**
 * The one StudioApi the window talks to: Electron's preload exposes it as `window.studio`; in the
 * browser mode (digits serve) there is none, and a WebSocket client plays the same part.
 */
import type { StudioApi } from './contract.ts';
import { createSocketApi } from './socketApi.ts';

export const api: StudioApi = window.studio ?? createSocketApi();
