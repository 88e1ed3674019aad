/** Serves the built renderer on app://studio/ with the CSP header (see rendererFiles.ts). */
import { protocol, type Session } from 'electron';
import { readFile } from 'node:fs/promises';
import { findStaticFile } from '../server/staticFiles.ts';
import { CONTENT_SECURITY_POLICY, RENDERER_SCHEME, resolveRendererFile } from './rendererFiles.ts';

/** Must run before the app is ready: a standard, secure scheme gets an origin and a secure context. */
export function registerRendererScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: RENDERER_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

export function serveRenderer(session: Session, rendererDir: string): void {
  session.protocol.handle(RENDERER_SCHEME, async (request) => {
    // resolveRendererFile checks the origin; findStaticFile then does what digits serve does:
    // inside the folder after symlinks, and a regular file.
    const found = resolveRendererFile(rendererDir, request.url) ? await findStaticFile(rendererDir, new URL(request.url).pathname) : null;
    if (!found) return new Response('Not found', { status: 404 });
    try {
      return new Response(await readFile(found.file), {
        headers: {
          'content-type': found.type,
          'content-security-policy': CONTENT_SECURITY_POLICY,
          'x-content-type-options': 'nosniff',
        },
      });
    } catch {
      return new Response('Not found', { status: 404 });
    }
  });
}
