/**
 * A small progress bar on stderr with rate and ETA. Drawn only on a terminal; elsewhere (pipes,
 * CI logs) it prints nothing, so --json output and logs stay clean.
 */

export interface ProgressReporter {
  /** Starts a phase: `total` units (0 if unknown), `unit` as shown (e.g. 'MB', 'merges'). */
  start(label: string, total: number, unit: string, scale?: number): void;
  update(done: number): void;
  finish(): void;
}

export const silentProgress: ProgressReporter = { start() {}, update() {}, finish() {} };

export class TerminalProgress implements ProgressReporter {
  private label = '';
  private total = 0;
  private unit = '';
  private scale = 1;
  private t0 = 0;
  private last = 0;
  private done = 0;
  private active = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  start(label: string, total: number, unit: string, scale = 1): void {
    if (this.active) this.finish();
    this.label = label;
    this.total = total;
    this.unit = unit;
    this.scale = scale;
    this.t0 = performance.now();
    this.last = 0;
    this.done = 0;
    this.active = true;
    this.draw();
  }

  update(done: number): void {
    this.done = done;
    const now = performance.now();
    if (now - this.last < 100) return;
    this.last = now;
    this.draw();
  }

  finish(): void {
    if (!this.active) return;
    this.draw();
    this.stream.write('\n');
    this.active = false;
  }

  private draw(): void {
    const secs = (performance.now() - this.t0) / 1000;
    const done = this.done / this.scale;
    const total = this.total / this.scale;
    const rate = secs > 0 ? done / secs : 0;
    const width = 30;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const filled = Math.round(frac * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const eta = rate > 0 && this.total > 0 ? (total - done) / rate : NaN;
    const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
    const line =
      `${this.label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${fmt(done)}/${fmt(total)} ${this.unit}` +
      ` ${fmt(rate)} ${this.unit}/s` +
      (Number.isFinite(eta) ? ` ETA ${formatSeconds(eta)}` : '') +
      ` elapsed ${formatSeconds(secs)}`;
    this.stream.write(`\r${line}\x1b[K`);
  }
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

/** A terminal progress bar when stderr is a terminal, else silence. */
export function defaultProgress(): ProgressReporter {
  return process.stderr.isTTY ? new TerminalProgress() : silentProgress;
}
