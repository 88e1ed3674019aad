/** A small typed event emitter: one set of listeners per event name; a throwing listener is isolated. */
export class EventHub<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Subscribes; returns the unsubscribe function. */
  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => {
      set.delete(listener as (payload: never) => void);
    };
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (payload: Events[E]) => void)(payload);
      } catch (error) {
        // One broken listener (e.g. a closed window) must not stop the others or the emitter.
        console.error(`listener for '${String(event)}' failed:`, error);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
