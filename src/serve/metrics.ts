/**
 * Prometheus text-format metrics (exposition format 0.0.4): counters, gauges and histograms
 * with fixed label sets. Small on purpose: the server needs a dozen series, not a client library.
 */
type Labels = Record<string, string>;

const key = (l: Labels): string => Object.keys(l).sort().map((k) => `${k}="${l[k].replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',');
const fmt = (v: number): string => (Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN');

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${fmt(v)}`);
    return lines.join('\n');
  }
}

export class Gauge implements Metric {
  constructor(readonly name: string, readonly help: string, private readonly read: () => number) {}
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${fmt(this.read())}`].join('\n');
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.counts = new Array<number>(buckets.length).fill(0);
  }
  observe(v: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
    this.sum += v;
    this.count++;
  }
  get total(): number {
    return this.count;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${fmt(b)}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${fmt(this.sum)}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

/** The server's series. */
export class ServerMetrics {
  readonly requests = new Counter('llmforge_requests_total', 'HTTP requests answered, by route and status code.');
  readonly promptTokens = new Counter('llmforge_prompt_tokens_total', 'Prompt tokens of generation requests.');
  readonly completionTokens = new Counter('llmforge_completion_tokens_total', 'Tokens generated.');
  readonly finished = new Counter('llmforge_sequences_finished_total', 'Generated sequences by finish reason (stop, length, cancelled).');
  readonly rejected = new Counter('llmforge_requests_rejected_total', 'Generation requests refused because the queue was full (503).');
  readonly ttft = new Histogram('llmforge_time_to_first_token_seconds', 'From a request arriving to its first generated token.',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly itl = new Histogram('llmforge_inter_token_latency_seconds', 'Time between consecutive tokens of a sequence.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);
  readonly duration = new Histogram('llmforge_request_duration_seconds', 'Generation requests, arrival to last byte.',
    [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]);
  private readonly gauges: Gauge[];

  constructor(state: { waiting: () => number; running: () => number; parallel: number }) {
    this.gauges = [
      new Gauge('llmforge_queue_depth', 'Sequences waiting for a slot.', state.waiting),
      new Gauge('llmforge_running_sequences', 'Sequences holding a slot (decoding).', state.running),
      new Gauge('llmforge_parallel_slots', 'Sequences decoded together at most (--parallel).', () => state.parallel),
    ];
  }

  render(): string {
    const all: Metric[] = [this.requests, this.promptTokens, this.completionTokens, this.finished, this.rejected, ...this.gauges,
      this.ttft, this.itl, this.duration];
    return `${all.map((m) => m.render()).join('\n')}\n`;
  }
}
