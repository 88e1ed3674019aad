/**
 * A scripted stand-in for the training child, for tests of the host and the service: it records
 * what the host sends and lets the test play the child's messages and its exit.
 */
import type { ChildExit, ChildMessage, ForkTrainer, ParentMessage, TrainingChild } from './trainingProtocol.ts';

export class FakeTrainingChild implements TrainingChild {
  readonly sent: ParentMessage[] = [];
  killed = false;
  exited = false;
  private readonly messageListeners: ((message: ChildMessage) => void)[] = [];
  private readonly exitListeners: ((exit: ChildExit) => void)[] = [];

  send(message: ParentMessage): void {
    this.sent.push(message);
  }

  onMessage(listener: (message: ChildMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onExit(listener: (exit: ChildExit) => void): void {
    this.exitListeners.push(listener);
  }

  kill(): void {
    this.killed = true;
    this.exit({ code: null, signal: 'SIGKILL' });
  }

  /** Plays a message from the child. */
  play(message: ChildMessage): void {
    for (const listener of this.messageListeners) listener(message);
  }

  exit(exit: ChildExit = { code: 0, signal: null }): void {
    if (this.exited) return;
    this.exited = true;
    for (const listener of this.exitListeners) listener(exit);
  }

  sentTypes(): string[] {
    return this.sent.map((m) => m.type);
  }
}

export function fakeForker(): { fork: ForkTrainer; children: FakeTrainingChild[] } {
  const children: FakeTrainingChild[] = [];
  return {
    children,
    fork: () => {
      const child = new FakeTrainingChild();
      children.push(child);
      return child;
    },
  };
}
