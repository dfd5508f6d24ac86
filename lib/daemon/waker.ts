/** Lets something (a webhook) cut the loop's wait short. */
export class Waker {
  #wake: (() => void) | null = null;
  #pending = false;

  /** Ends the current wait now, or the next one at once if none is under way. */
  wake(): void {
    if (this.#wake) this.#wake();
    else this.#pending = true;
  }

  /**
   * Waits `ms`, or less when woken or when `signal` aborts. Not `wakeable` (a rate-limit wait):
   * only the signal ends it early, and a wake-up meanwhile is kept for the next wait.
   */
  wait(ms: number, signal: AbortSignal, wakeable = true): Promise<void> {
    if (signal.aborted || (wakeable && this.#pending)) {
      if (wakeable) this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      if (wakeable) this.#wake = done;
    });
  }
}
