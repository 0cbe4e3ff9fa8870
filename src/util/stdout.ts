/**
 * A command piped into a reader that stops early (`llmforge generate … | head -c 5`) sees its
 * stdout closed: writes fail with EPIPE. That is the reader's choice, not a failure, so the
 * command ends at once, quietly, with exit status 0 — as `cat` and `yes` do.
 */

/** True for the error a write to a closed pipe gives. */
export function isClosedPipe(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'EPIPE';
}

/** Installs the handler on process.stdout (the CLI's entry point calls it once). */
export function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (err) => {
    if (isClosedPipe(err)) process.exit(0);
    throw err;
  });
}

/**
 * True once a write to stdout has failed with EPIPE. Pipe writes are synchronous, so a loop
 * that writes as it computes (streaming generation) can stop here instead of computing on
 * for a reader that is gone; the 'error' event would only arrive after the loop.
 */
export function stdoutClosed(): boolean {
  return isClosedPipe(process.stdout.errored);
}

/** Ends the process quietly when stdout is closed (call between units of streamed output). */
export function exitIfStdoutClosed(): void {
  if (stdoutClosed()) process.exit(0);
}
