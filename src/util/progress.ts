/**
 * A progress line on stderr: bar, count, rate and ETA, redrawn in place on a TTY and
 * printed at most every few seconds otherwise (so logs and CI output stay readable).
 */
export interface ProgressOptions {
  total: number;
  label: string;
  /** Unit for the rate, e.g. 'MB' or 'tok'. */
  unit?: string;
  /** Scale applied to the count for display of rate (e.g. 1e-6 for bytes → MB). */
  unitScale?: number;
  stream?: NodeJS.WriteStream;
  /** Minimum ms between redraws. */
  interval?: number;
  /** Also print the bar when stderr is not a terminal (every few seconds). Default true. */
  whenPiped?: boolean;
}

export class Progress {
  private readonly start = performance.now();
  private lastDraw = 0;
  private current = 0;
  private suffix = '';
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY) && process.env.CI !== 'true';
  }

  /** Sets the absolute count (and an optional status text) and redraws if due. */
  update(current: number, suffix = this.suffix): void {
    this.current = current;
    this.suffix = suffix;
    const now = performance.now();
    const interval = this.o.interval ?? (this.tty ? 100 : 5000);
    if (now - this.lastDraw >= interval || current >= this.o.total) {
      this.lastDraw = now;
      this.draw(now);
    }
  }

  /** Prints a line above the bar without garbling it. */
  log(line: string): void {
    if (this.tty) this.stream.write('\r\x1b[K');
    this.stream.write(`${line}\n`);
    if (this.tty) this.draw(performance.now());
  }

  done(): void {
    this.draw(performance.now());
    if (this.tty) this.stream.write('\n');
  }

  /** Erases the bar (on a terminal) without printing a final line. */
  clear(): void {
    if (this.tty) this.stream.write('\r\x1b[K');
  }

  private draw(now: number): void {
    if (!this.tty && this.o.whenPiped === false) return;
    const { total, label } = this.o;
    const frac = total > 0 ? Math.min(1, this.current / total) : 0;
    const secs = (now - this.start) / 1000;
    const scale = this.o.unitScale ?? 1;
    const unit = this.o.unit ?? 'it';
    const rate = secs > 0 ? (this.current * scale) / secs : 0;
    const eta = this.current > 0 && frac < 1 ? (secs / this.current) * (total - this.current) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const text = `${label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${amount(this.current * scale)}/${amount(total * scale)} ${unit} ` +
      `${amount(rate)} ${unit}/s ETA ${formatDuration(eta)} elapsed ${formatDuration(secs)}${this.suffix ? ` ${this.suffix}` : ''}`;
    this.stream.write(this.tty ? `\r\x1b[K${text}` : `${text}\n`);
  }
}

function amount(x: number): string {
  return Number.isInteger(x) || x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0s';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
