// Waiting between retries: exponential backoff with jitter, in sleeps that a server change or close() cuts short.

const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 5_000;

/** Exponential backoff with jitter: half the capped delay fixed, half random. */
export function backoffDelay(attempt: number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export class Sleeper {
  private readonly wakers = new Set<() => void>();

  /** Waits `ms`, or less if wakeAll() is called meanwhile. Never keeps the process alive. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.wakers.add(wake);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }
}
