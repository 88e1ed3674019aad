/**
 * How the desktop window gets its page: the built renderer (out/renderer) is served on a custom
 * `app://studio/` origin instead of file:// (Electron security checklist: custom protocol), with
 * a strict Content-Security-Policy header on every response. Pure helpers, no `electron` import,
 * so they are tested without the Electron runtime; rendererProtocol.ts wires them up.
 */
import { CONTENT_SECURITY_POLICY } from '../server/contentSecurityPolicy.ts';
import { contentType, resolveStaticPath } from '../server/staticFiles.ts';

export const RENDERER_SCHEME = 'app';
export const RENDERER_HOST = 'studio';
export const RENDERER_ORIGIN = `${RENDERER_SCHEME}://${RENDERER_HOST}`;
export const RENDERER_URL = `${RENDERER_ORIGIN}/index.html`;

/** The page's policy, the same one `digits serve` sends (main/server/contentSecurityPolicy.ts). */
export { CONTENT_SECURITY_POLICY };
/** One content-type table for both hosts (main/server/staticFiles.ts). */
export { contentType };

/**
 * The file under `rendererDir` that an `app://studio/...` URL names, or null for anything else:
 * another scheme or host, or a path escaping the folder (`..`, encoded or not). `/` is index.html.
 */
export function resolveRendererFile(rendererDir: string, url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${RENDERER_SCHEME}:` || parsed.host !== RENDERER_HOST) return null;
  return resolveStaticPath(rendererDir, parsed.pathname);
}

/**
 * True for URLs of our renderer: the app:// origin, or (in `electron-vite dev`) the dev server's
 * origin. Used to check where an IPC request comes from.
 */
export function isRendererUrl(url: string, devServerUrl?: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === `${RENDERER_SCHEME}:` && parsed.host === RENDERER_HOST) return true;
  if (!devServerUrl) return false;
  try {
    return parsed.origin === new URL(devServerUrl).origin;
  } catch {
    return false;
  }
}
