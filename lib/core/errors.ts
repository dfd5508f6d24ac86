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

/**
 * The options ask for what this host cannot give (a profile its Docker engine cannot confine
 * safely): `main.ts` prints the message, which holds the fix, and exits with code 2, without the
 * pointer to `--help`, which would not help.
 */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

/**
 * Another daemon runs with this host's identity, on another machine (a cloned state
 * directory): a restart cannot mend that. `main.ts` prints the message and exits with code 3,
 * which the service units do not restart on.
 */
export class IdentityConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IdentityConflict";
  }
}
