/**
 * Serving the built renderer's files, for both hosts (the desktop window's app:// protocol and
 * `digits serve`): one content-type table and one path check. A URL path becomes a file only if
 * it stays inside the folder, also after symlinks, and is a regular file.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** The MIME type to serve a file with (module scripts need a JavaScript one). */
export function contentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file under `root` that a URL path (still percent-encoded, as in `URL.pathname`) names, or
 * null when it is malformed or leaves the folder (`..`, encoded or not). `/` is index.html. Pure:
 * symlinks are checked by `findStaticFile`.
 */
export function resolveStaticPath(root: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const base = path.resolve(root);
  const file = path.resolve(base, relative);
  return isInside(base, file) ? file : null;
}

function isInside(root: string, file: string): boolean {
  const inside = path.relative(root, file);
  return inside !== '' && !inside.startsWith('..') && !path.isAbsolute(inside);
}

export interface StaticFile {
  /** The real path (symlinks resolved), inside the folder. */
  file: string;
  size: number;
  type: string;
}

/** The regular file a URL path names inside `root`, after symlinks; null for anything else. */
export async function findStaticFile(root: string, pathname: string): Promise<StaticFile | null> {
  const file = resolveStaticPath(root, pathname);
  if (!file) return null;
  try {
    const [realRoot, real] = await Promise.all([realpath(root), realpath(file)]);
    if (!isInside(realRoot, real)) return null; // a symlink out of the folder
    const info = await stat(real);
    if (!info.isFile()) return null;
    return { file: real, size: info.size, type: contentType(real) };
  } catch {
    return null;
  }
}
