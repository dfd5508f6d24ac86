/**
 * A mistake in how the program was called (unknown command or flag, bad value).
 * `main.ts` prints its message with a pointer to the command's `--help` and exits with code 2.
 */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}
