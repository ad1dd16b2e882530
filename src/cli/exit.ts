// Exit codes every operator command shares, so CI scripts can branch on them.
export const EXIT_OK = 0;
/** The rollout failed or the command was rejected. */
export const EXIT_FAILED = 1;
/** The command could not run: no such Rollout, no answer from the controller, a timeout, bad input. */
export const EXIT_UNAVAILABLE = 2;

/** An error that ends the command with its own exit code and a message for the user. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_UNAVAILABLE,
  ) {
    super(message);
  }
}

/** Wraps a command action: its return value is the exit code; an error prints `stepwise: message`. */
export function runAction<A extends unknown[]>(
  action: (...args: A) => Promise<number | void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = (await action(...args)) ?? EXIT_OK;
    } catch (error) {
      console.error(`stepwise: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = error instanceof CliError ? error.exitCode : EXIT_UNAVAILABLE;
    }
  };
}
