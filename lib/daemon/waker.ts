/** Lets something (a webhook) cut the loop's wait short. */
export class Waker {
  #wake: (() => void) | null = null;
  #pending = false;

  /** Ends the current wait now, or the next one at once if none is under way. */
  wake(): void {
    if (this.#wake) this.#wake();
    else this.#pending = true;
  }

  /** Waits `ms`, or less when woken or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#pending || signal.aborted) {
      this.#pending = false;
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
      this.#wake = done;
    });
  }
}
