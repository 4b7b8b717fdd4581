/** Process exit codes of every `slmops` command. */
export const ExitCode = Object.freeze({
  /** Done; every check passed. */
  ok: 0,
  /** The input was invalid or a check failed (also used for internal errors, which print their cause chain). */
  failure: 1,
  /** The command line itself was wrong: unknown command or flag, missing or extra argument. */
  usage: 2,
});
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
