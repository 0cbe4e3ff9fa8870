/**
 * Continuous batching over the inference engine: requests join and leave the batch at any
 * decode step. Each step
 *   1. admits waiting requests (first come, first served) while the engine has free rows,
 *      each sequence into its own row (reusing any prefix the row holds), and prefills at
 *      most `prefillChunk` prompt tokens in all (a long prompt takes several steps, so the
 *      sequences already decoding are never held up by more than one chunk);
 *   2. samples one token for every running sequence, applies stop tokens, stop strings, the
 *      token budget and the deadline, and reports the new text;
 *   3. feeds the new tokens of all still-running sequences back in one batched decode.
 * A finished or cancelled sequence gives its row back at once, so the next waiting request
 * takes it at the next step. `Generation` (generate.ts) stays the fixed-batch path of
 * `llmforge generate`; this is the server's.
 *
 * Requests carry one prompt per choice (OpenAI's `n`, or several prompts): each choice is
 * a sequence with its own row and sampler; a request is admitted only when all of its
 * choices fit, so its choices advance together.
 */
import { performance } from 'node:perf_hooks';
import type { InferenceEngine } from './engine.js';
import { generateOptions, type GenerateOptions } from './generate.js';
import { Sampler, sequenceSeed } from './sampler.js';
import { StopMatcher, StreamDecoder, type ByteDecoder } from './stream.js';

export interface ScheduledRequest {
  /** One prompt (token ids) per choice. */
  prompts: number[][];
  /** maxNewTokens is capped by the room left in the context. useCache and contextOverflow are ignored. */
  options: Partial<GenerateOptions>;
  /** OpenAI's penalties on generated tokens: logit -= presence·[count > 0] + frequency·count. */
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Report each sampled token's log-probability, with this many alternatives (0..20). */
  logprobs?: number | null;
  /** performance.now() time after which the choices end with finish reason 'length'. */
  deadline?: number;
}

export interface TokenLogprob {
  logprob: number;
  /** The most likely tokens and their log-probabilities, most likely first. */
  top: Array<[id: number, logprob: number]>;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export type SchedulerEvent =
  /** The request's choices hold rows and their prompts are prefilled. */
  | { kind: 'start'; id: string; promptTokens: number[] }
  /** One sampled token (id) and the text it completed ('' while held back). */
  | { kind: 'token'; id: string; choice: number; token: number; text: string; logprob?: TokenLogprob }
  /** Text released at the end (held-back stop-string prefixes, an unfinished character). */
  | { kind: 'text'; id: string; choice: number; text: string }
  | { kind: 'finish'; id: string; choice: number; reason: FinishReason; completionTokens: number };

class Seq {
  row = -1;
  /** Prompt tokens not yet fed to the row (prefill in progress while non-empty). */
  pending: number[] = [];
  readonly generated: number[] = [];
  finished: FinishReason | null = null;
  readonly logits: Float32Array;
  readonly sampled: Float32Array;
  readonly sampler: Sampler;
  readonly decoder: StreamDecoder | null;
  readonly matcher: StopMatcher;
  readonly counts = new Map<number, number>();

  constructor(readonly req: Job, readonly choice: number, readonly prompt: number[], vocab: number, limit: number, bytes: ByteDecoder | null) {
    this.logits = new Float32Array(vocab);
    this.sampled = this.logits.subarray(0, limit);
    const o = req.options;
    this.sampler = new Sampler(o, limit, sequenceSeed(o.seed, choice));
    this.sampler.observe(prompt);
    this.decoder = bytes === null ? null : new StreamDecoder(bytes);
    this.matcher = new StopMatcher(o.stop);
  }
}

interface Job {
  id: string;
  options: GenerateOptions;
  presence: number;
  frequency: number;
  logprobs: number | null;
  deadline: number;
  seqs: Seq[];
  stopSet: Set<number>;
}

export interface SchedulerStats {
  /** Requests waiting for rows. */
  waiting: number;
  /** Sequences holding rows. */
  running: number;
  /** Totals since the start. */
  prefillTokens: number;
  decodeTokens: number;
  decodeSteps: number;
}

export class Scheduler {
  private readonly queue: Job[] = [];
  private readonly running: Seq[] = [];
  private readonly jobs = new Map<string, Job>();
  private readonly limit: number;
  private readonly totals = { prefillTokens: 0, decodeTokens: 0, decodeSteps: 0 };

  private readonly prefillChunk: number;

  constructor(private readonly engine: InferenceEngine, private readonly tokenizer: ByteDecoder | null = null,
    o: { vocabLimit?: number; prefillChunk?: number } = {}) {
    this.limit = Math.min(engine.vocabSize, o.vocabLimit ?? tokenizer?.vocabSize ?? engine.vocabSize);
    this.prefillChunk = o.prefillChunk ?? 512;
    if (!Number.isInteger(this.prefillChunk) || this.prefillChunk < 1) throw new RangeError(`prefillChunk must be a positive integer, got ${this.prefillChunk}`);
  }

  get stats(): SchedulerStats {
    return { waiting: this.queue.length, running: this.running.length, ...this.totals };
  }

  /** True when nothing waits or runs. */
  get idle(): boolean {
    return this.queue.length === 0 && this.running.length === 0;
  }

  /** Queues a request; errors (bad options, a prompt that does not fit) are thrown here, naming the setting. */
  submit(id: string, r: ScheduledRequest): void {
    if (this.jobs.has(id)) throw new RangeError(`request ${id} is already scheduled`);
    const o = generateOptions({ ...r.options, useCache: true });
    if (o.stop.length > 0 && this.tokenizer === null) throw new RangeError('stop strings need a tokenizer');
    const cap = this.engine.capacity;
    if (r.prompts.length === 0) throw new RangeError('no prompts');
    if (r.prompts.length > this.engine.maxBatch) {
      throw new RangeError(`${r.prompts.length} choices exceed the ${this.engine.maxBatch} sequences the server runs at once`);
    }
    for (const p of r.prompts) {
      if (p.length === 0) throw new RangeError('the prompt has no tokens');
      // The last position must stay free for at least one new token.
      if (p.length >= cap) throw new RangeError(`the prompt has ${p.length} tokens; the context holds ${cap}, so at most ${cap - 1} leave room for a reply`);
      for (const id of p) if (!Number.isInteger(id) || id < 0 || id >= this.engine.vocabSize) throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.engine.vocabSize - 1})`);
    }
    const top = r.logprobs ?? null;
    if (top !== null && (!Number.isInteger(top) || top < 0 || top > 20)) throw new RangeError(`top_logprobs must be an integer in 0..20, got ${top}`);
    const job: Job = {
      id, options: o, presence: r.presencePenalty ?? 0, frequency: r.frequencyPenalty ?? 0, logprobs: top,
      deadline: r.deadline ?? Infinity, seqs: [], stopSet: new Set(o.stopTokens),
    };
    job.seqs = r.prompts.map((p, i) => new Seq(job, i, p, this.engine.vocabSize, this.limit, this.tokenizer));
    this.jobs.set(id, job);
    this.queue.push(job);
  }

  /** Ends a request now (waiting or running): its rows are free for the next step. Unknown ids are ignored. */
  cancel(id: string, events: SchedulerEvent[] = []): SchedulerEvent[] {
    const job = this.jobs.get(id);
    if (job === undefined) return events;
    const q = this.queue.indexOf(job);
    if (q >= 0) this.queue.splice(q, 1);
    for (const s of job.seqs) if (s.finished === null) this.finish(s, 'cancelled', events, false);
    return events;
  }

  /** One step of every running sequence (admitting waiting requests first). Returns what happened. */
  step(): SchedulerEvent[] {
    const events: SchedulerEvent[] = [];
    const now = performance.now();
    for (const job of this.queue.filter((j) => now > j.deadline)) {
      this.queue.splice(this.queue.indexOf(job), 1);
      for (const s of job.seqs) this.finish(s, 'length', events);
    }
    this.admit(events);
    this.prefill();
    const rows: number[] = [];
    const ids: number[] = [];
    const fed: Seq[] = [];
    for (const s of this.running.slice()) {
      const job = s.req;
      if (now > job.deadline) {
        this.finish(s, 'length', events);
        continue;
      }
      if (s.pending.length > 0) continue; // still prefilling
      const penalized = (job.presence !== 0 || job.frequency !== 0) && s.counts.size > 0;
      // Log-probabilities come from the raw logits, which the penalties below change in place.
      const logprob = job.logprobs !== null ? logprobOf(penalized ? s.sampled.slice() : s.sampled, job.logprobs) : undefined;
      if (penalized) {
        for (const [id, n] of s.counts) if (id < s.sampled.length) s.sampled[id] -= job.presence + job.frequency * n;
      }
      const id = s.sampler.sample(s.sampled);
      if (logprob !== undefined) logprob.set(id);
      if (job.stopSet.has(id)) {
        this.finish(s, 'stop', events);
        continue;
      }
      s.generated.push(id);
      s.counts.set(id, (s.counts.get(id) ?? 0) + 1);
      s.sampler.observe([id]);
      let text = '';
      let stopped = false;
      if (s.decoder !== null) {
        const r = s.matcher.push(s.decoder.push(id));
        text = r.text;
        stopped = r.stopped;
      }
      events.push({ kind: 'token', id: job.id, choice: s.choice, token: id, text, ...(logprob ? { logprob: logprob.get() } : {}) });
      if (stopped) {
        this.finish(s, 'stop', events, false);
        continue;
      }
      // The reply ends at its budget or where the context is full (the prompt fits by submit's check).
      if (s.generated.length >= job.options.maxNewTokens || s.prompt.length + s.generated.length >= this.engine.capacity) {
        this.finish(s, 'length', events);
        continue;
      }
      rows.push(s.row);
      ids.push(id);
      fed.push(s);
    }
    if (rows.length > 0) {
      const logits = this.engine.decode(rows, ids);
      const V = this.engine.vocabSize;
      fed.forEach((s, i) => s.logits.set(logits.subarray(i * V, (i + 1) * V)));
      this.totals.decodeTokens += rows.length;
      this.totals.decodeSteps++;
    }
    return events;
  }

  /** Moves waiting requests onto free rows while all of a request's choices fit (FIFO: no overtaking). */
  private admit(events: SchedulerEvent[]): void {
    while (this.queue.length > 0 && this.queue[0].seqs.length <= this.engine.freeRows) {
      const job = this.queue.shift() as Job;
      for (const s of job.seqs) {
        s.row = this.engine.acquireRow(s.prompt) as number;
        // At least the last prompt token is fed again, for the logits after it.
        const keep = Math.min(this.engine.cache.commonPrefix(s.row, s.prompt), s.prompt.length - 1);
        this.engine.cache.truncate(s.row, keep);
        s.pending = s.prompt.slice(keep);
        this.running.push(s);
      }
      events.push({ kind: 'start', id: job.id, promptTokens: job.seqs.map((s) => s.prompt.length) });
    }
  }

  /**
   * Feeds up to prefillChunk prompt tokens, oldest sequences first. Pieces of equal length go
   * through the model in one batched pass; a sequence whose prompt is complete has the logits
   * for its first token.
   */
  private prefill(): void {
    let budget = this.prefillChunk;
    const byLength = new Map<number, Seq[]>();
    for (const s of this.running) {
      if (s.pending.length === 0 || budget === 0) continue;
      const n = Math.min(s.pending.length, budget);
      budget -= n;
      byLength.set(n, [...(byLength.get(n) ?? []), s]);
    }
    const V = this.engine.vocabSize;
    for (const [n, group] of byLength) {
      const logits = this.engine.feed(group.map((s) => s.row), group.map((s) => s.pending.slice(0, n)));
      group.forEach((s, i) => {
        s.pending = s.pending.slice(n);
        if (s.pending.length === 0) s.logits.set(logits.subarray(i * V, (i + 1) * V));
      });
      this.totals.prefillTokens += n * group.length;
    }
  }

  private finish(s: Seq, reason: FinishReason, events: SchedulerEvent[], flush = true): void {
    s.finished = reason;
    const job = s.req;
    if (flush && s.decoder !== null) {
      const r = s.matcher.push(s.decoder.flush());
      let text = r.text;
      if (!r.stopped) text += s.matcher.flush();
      if (text.length > 0) events.push({ kind: 'text', id: job.id, choice: s.choice, text });
    }
    if (s.row >= 0) {
      this.engine.releaseRow(s.row);
      const i = this.running.indexOf(s);
      if (i >= 0) this.running.splice(i, 1);
    }
    events.push({ kind: 'finish', id: job.id, choice: s.choice, reason, completionTokens: s.generated.length });
    if (job.seqs.every((q) => q.finished !== null)) this.jobs.delete(job.id);
  }
}

/**
 * Log-probabilities of the model's distribution (log-softmax of the raw logits, before
 * penalties and sampling controls, as OpenAI and vLLM report them): the top-k now, the
 * chosen token's once it is known.
 */
function logprobOf(logits: Float32Array, k: number): { set(id: number): void; get(): TokenLogprob } {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const top: Array<[number, number]> = [];
  if (k > 0) {
    // k ≤ 20: keep a small sorted list (descending; ties by lower id).
    for (let i = 0; i < logits.length; i++) {
      const v = logits[i];
      if (top.length === k && v <= top[k - 1][1]) continue;
      let j = top.length < k ? top.length : k - 1;
      if (top.length < k) top.push([i, v]);
      while (j > 0 && top[j - 1][1] < v) {
        top[j] = top[j - 1];
        j--;
      }
      top[j] = [i, v];
    }
    for (const t of top) t[1] -= lse;
  }
  const chosen = { logprob: 0 };
  return {
    set(id: number) {
      chosen.logprob = logits[id] - lse;
    },
    get: () => ({ logprob: chosen.logprob, top }),
  };
}
