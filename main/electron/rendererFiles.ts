/**
 * How the desktop window gets its page: the built renderer (out/renderer) is served on a custom
 * `app://studio/` origin instead of file:// (Electron security checklist: custom protocol), with
 * a strict Content-Security-Policy header on every response. Pure helpers, no `electron` import,
 * so they are tested without the Electron runtime; rendererProtocol.ts wires them up.
 */
import path from 'node:path';

export const RENDERER_SCHEME = 'app';
export const RENDERER_HOST = 'studio';
export const RENDERER_ORIGIN = `${RENDERER_SCHEME}://${RENDERER_HOST}`;
export const RENDERER_URL = `${RENDERER_ORIGIN}/index.html`;

/**
 * The page's policy: only our own scripts, styles (inline style attributes allowed: Svelte and
 * uPlot set them), images from our origin or data:/blob: URLs (digit previews), no plugins, no
 * frames, no form posts. connect-src 'self' is for the browser mode's WebSocket (same origin);
 * the desktop page fetches nothing. renderer/index.html carries a compatible <meta> policy.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "frame-src 'none'",
  "worker-src 'self' blob:",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** The MIME type to serve a file with (module scripts need a JavaScript one). */
export function contentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

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
  let pathname: string;
  try {
    pathname = decodeURIComponent(parsed.pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  const relative = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^\/+/, '');
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, relative);
  const inside = path.relative(root, file);
  if (!inside || inside.startsWith('..') || path.isAbsolute(inside)) return null;
  return file;
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
