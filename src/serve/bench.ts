/**
 * `llmforge bench serve`: the server under load. Starts it in this process (worker thread,
 * 127.0.0.1, a free port), then N clients at once each stream one completion of exactly
 * --new-tokens tokens (greedy, end-of-text ignored) over HTTP, and measures what clients see:
 * aggregate tokens/s, time to first token, and each client's decode speed after its first token.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Random } from '../tensor/random.js';
import { startServer } from './server.js';

export interface ServeBenchOptions {
  model: string;
  clients: number;
  newTokens: number;
  promptTokens: number;
  /**
   * Timed runs. Each figure is its best over the runs, as `bench generate` reports its own (the
   * machine is shared and noisy): aggregate tokens/s and TTFT of the fastest run, the highest decode rate.
   */
  repeats: number;
  threads?: number;
  seed: number;
}

export interface ServeBenchResult {
  clients: number;
  tokensPerSecond: number;
  ttftMsP50: number;
  ttftMsP95: number;
  /** Mean over clients of (tokens - 1) / (last token - first token). */
  decodeTokensPerSecond: number;
  seconds: number;
  contextLength: number;
  params: number;
  threads: number;
  backend: string;
}

interface ClientRun {
  start: number;
  first: number;
  last: number;
  tokens: number;
}

/** Nearest-rank percentile of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Mean per-client decode rate; NaN when every reply arrived in one network read (too fast to time). */
function decodeRate(runs: ClientRun[]): number {
  const timed = runs.filter((x) => x.last > x.first && x.tokens > 1);
  return timed.reduce((s, x) => s + ((x.tokens - 1) * 1000) / (x.last - x.first), 0) / timed.length;
}

/**
 * One streamed completion over node:http (lighter than fetch's web streams: a client this cheap
 * leaves the CPU to the server it shares the machine with). Only the chunks that end the reply
 * are parsed.
 */
function streamOnce(agent: Agent, url: string, prompt: number[], maxTokens: number): Promise<ClientRun> {
  const body = JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let first = 0;
    let last = 0;
    let tokens = 0;
    let buf = '';
    const req = request(`${url}/v1/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (d: string) => (text += d));
        res.on('end', () => reject(new Error(`bench serve: the server answered ${res.statusCode}: ${text}`)));
        return;
      }
      res.on('data', (part: string) => {
        const now = performance.now();
        if (first === 0) first = now;
        buf += part;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const data = buf.slice(6, cut);
          buf = buf.slice(cut + 2);
          if (data === '[DONE]' || data.endsWith('"finish_reason":null}]}')) continue;
          const chunk = JSON.parse(data) as { usage?: { completion_tokens: number }; choices: Array<{ finish_reason: string | null }> };
          if (chunk.usage) tokens = chunk.usage.completion_tokens;
          if (chunk.choices[0]?.finish_reason) last = now;
        }
      });
      res.on('end', () => {
        if (tokens !== maxTokens) reject(new Error(`bench serve: a client got ${tokens} tokens, expected ${maxTokens}`));
        else resolve({ start, first, last, tokens });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function benchServe(o: ServeBenchOptions): Promise<ServeBenchResult> {
  const server = await startServer({
    model: o.model, host: '127.0.0.1', port: 0, parallel: o.clients, queue: 0, timeoutS: 3600, bodyLimit: 1 << 20, threads: o.threads,
  });
  // Kept-alive connections, one per client, reused across the runs.
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  try {
    const ctx = server.info.contextLength;
    if (o.promptTokens + o.newTokens > ctx) {
      throw new RangeError(`--prompt-tokens ${o.promptTokens} + --new-tokens ${o.newTokens} exceed the model's context length ${ctx}`);
    }
    // Prompts of ordinary (non-special) token ids, different per client.
    const special = new Set(server.model.tokenizer.specialTokens.values());
    const ordinary = Array.from({ length: server.model.tokenizer.vocabSize }, (_, i) => i).filter((i) => !special.has(i));
    const rng = new Random(o.seed);
    const prompts = Array.from({ length: o.clients }, () => Array.from({ length: o.promptTokens }, () => ordinary[rng.int(ordinary.length)]));
    // Warm-up: every client once (JIT, the KV cache pages, connections).
    await Promise.all(prompts.map((p) => streamOnce(agent, server.url, p, Math.min(8, o.newTokens))));
    let best: ServeBenchResult | null = null;
    for (let r = 0; r < o.repeats; r++) {
      const runs = await Promise.all(prompts.map((p) => streamOnce(agent, server.url, p, o.newTokens)));
      const t0 = Math.min(...runs.map((x) => x.start));
      const t1 = Math.max(...runs.map((x) => x.last));
      const ttft = runs.map((x) => x.first - x.start);
      const result: ServeBenchResult = {
        clients: o.clients,
        tokensPerSecond: (runs.reduce((s, x) => s + x.tokens, 0) * 1000) / (t1 - t0),
        ttftMsP50: percentile(ttft, 50),
        ttftMsP95: percentile(ttft, 95),
        decodeTokensPerSecond: decodeRate(runs),
        seconds: (t1 - t0) / 1000,
        contextLength: ctx, params: server.info.params, threads: server.info.threads, backend: server.info.backend,
      };
      // NaN (every reply in one network read) never wins.
      const rates = [best?.decodeTokensPerSecond ?? NaN, result.decodeTokensPerSecond].filter(Number.isFinite);
      const decode = rates.length > 0 ? Math.max(...rates) : NaN;
      if (best === null || result.tokensPerSecond > best.tokensPerSecond) best = result;
      best.decodeTokensPerSecond = decode;
    }
    if (best === null) throw new RangeError('--repeats must be >= 1');
    return best;
  } finally {
    agent.destroy();
    await server.close();
  }
}
