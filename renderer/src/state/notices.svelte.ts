/** Short messages in the corner: successes fade away, errors stay until dismissed. */
import { errorMessage } from '../lib/errors.ts';

export type NoticeKind = 'success' | 'info' | 'error';

export interface Notice {
  id: number;
  kind: NoticeKind;
  text: string;
}

const FADE_AFTER_MS = 6000;

export class Notices {
  items = $state<Notice[]>([]);
  #nextId = 1;

  show(kind: NoticeKind, text: string): number {
    const id = this.#nextId++;
    this.items = [...this.items, { id, kind, text }];
    if (kind !== 'error') setTimeout(() => this.dismiss(id), FADE_AFTER_MS);
    return id;
  }

  success(text: string): number {
    return this.show('success', text);
  }

  info(text: string): number {
    return this.show('info', text);
  }

  /** Shows any thrown value as a readable sentence, with what was being done in front of it. */
  error(error: unknown, doing?: string): number {
    const text = errorMessage(error);
    return this.show('error', doing ? `${doing}: ${text}` : text);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((notice) => notice.id !== id);
  }
}
