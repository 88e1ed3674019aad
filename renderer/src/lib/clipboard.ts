/**
 * Copies text. The async Clipboard API can be refused (Electron asks the session's permission
 * handler for 'clipboard-sanitized-write'; browsers want a secure context), so the older
 * copy command on a hidden text area is the fallback.
 */
export async function copyText(text: string): Promise<void> {
  try {
    if (!navigator.clipboard?.writeText) throw new Error('no Clipboard API');
    await navigator.clipboard.writeText(text);
    return;
  } catch (error) {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    const focused = document.activeElement as HTMLElement | null;
    document.body.append(area);
    area.focus();
    area.select();
    const copied = typeof document.execCommand === 'function' && document.execCommand('copy');
    area.remove();
    focused?.focus?.();
    if (!copied) throw error instanceof Error ? error : new Error('the clipboard refused the text');
  }
}
