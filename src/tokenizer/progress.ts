/**
 * A small progress bar on stderr with rate and ETA. Drawn only on a terminal; elsewhere (pipes,
 * CI logs) it prints nothing, so --json output and logs stay clean.
 */

import { Progress } from '../util/progress.js';

export interface ProgressReporter {
  /** Starts a phase: `total` units (0 if unknown), `unit` as shown (e.g. 'MB', 'merges'). */
  start(label: string, total: number, unit: string, scale?: number): void;
  update(done: number): void;
  finish(): void;
}

export const silentProgress: ProgressReporter = { start() {}, update() {}, finish() {} };

/** The shared terminal bar (src/util/progress.ts), one per phase. */
export class TerminalProgress implements ProgressReporter {
  private bar: Progress | null = null;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  start(label: string, total: number, unit: string, scale = 1): void {
    this.finish();
    this.bar = new Progress({ total, label, unit, unitScale: 1 / scale, stream: this.stream, whenPiped: false });
    this.bar.update(0);
  }

  update(done: number): void {
    this.bar?.update(done);
  }

  finish(): void {
    this.bar?.done();
    this.bar = null;
  }
}

/** A terminal progress bar when stderr is a terminal, else silence. */
export function defaultProgress(): ProgressReporter {
  return process.stderr.isTTY ? new TerminalProgress() : silentProgress;
}
