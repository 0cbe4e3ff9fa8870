/**
 * Best-of-N: of N sampled replies to a prompt, keep the one a reward model scores highest.
 * Replies are scored as the reward model was trained: a chat reply as prompt + reply +
 * <|end|> in the chat template, plain text as the prompt and continuation in the reward
 * model's own tokenizer (so the policy's tokenizer may differ).
 */
import type { GreedyOptions, GreedyReply } from '../eval/index.js';
import { generate, InferenceEngine, sequenceSeed } from '../infer/index.js';
import { documentStartToken, encodePrompt } from '../model/framing.js';
import type { GPT } from '../nn/gpt.js';
import type { ChatMessage } from '../model/chat.js';
import { renderReply } from './pair-setup.js';
import { scoreSequences, type RewardModel } from './reward.js';

export { loadRewardModel, type RewardModel } from './reward.js';

export interface Candidate {
  prompt: string;
  text: string;
  chat: boolean;
  system?: string;
  bos?: boolean;
}

/**
 * `candidates` come in groups of n consecutive samples of one prompt; returns, per group,
 * the index (into candidates) of the best and its reward (the first on ties).
 */
export function bestOfN(rm: RewardModel, candidates: readonly Candidate[], n: number): Array<{ index: number; reward: number }> {
  if (candidates.length % n !== 0) throw new RangeError(`best-of: ${candidates.length} candidates are not groups of ${n}`);
  const start = documentStartToken(rm.tokenizer);
  const seqs = candidates.map((c) => {
    if (!c.chat) return encodePrompt(rm.tokenizer, c.prompt + c.text, start, c.bos ?? true);
    const prompt: ChatMessage[] = c.system ? [{ role: 'system', content: c.system }] : [];
    prompt.push({ role: 'user', content: c.prompt });
    return renderReply(rm.tokenizer, prompt, c.text).ids;
  });
  const scores = scoreSequences(rm, seqs);
  const out: Array<{ index: number; reward: number }> = [];
  for (let g = 0; g < candidates.length; g += n) {
    let best = g;
    for (let k = g + 1; k < g + n; k++) if (scores[k] > scores[best]) best = k;
    out.push({ index: best, reward: scores[best] });
  }
  return out;
}

export interface BestOfDecodeOptions extends GreedyOptions {
  /** Samples per prompt. */
  n: number;
  temperature: number;
  topP: number;
  seed: number;
}

/**
 * Best-of-N replies in the chat eval's shape (GreedyReply): n samples per prompt (only
 * <|end|> stops; a role token ends the reply there as a format failure), each scored by the
 * reward model as prompt + reply + <|end|>, the highest kept. The reward model must share
 * the policy's tokenizer (the ids are scored as they are).
 */
export function bestOfReplies(model: GPT, rm: RewardModel, prompts: readonly number[][], o: BestOfDecodeOptions): GreedyReply[] {
  const perChunk = Math.max(1, Math.floor((o.batch ?? 32) / o.n));
  const engine = new InferenceEngine(model, { maxBatch: perChunk * o.n });
  const cap = engine.capacity;
  const forbidden = new Set(o.forbidden);
  const out: GreedyReply[] = [];
  for (let first = 0, chunk = 0; first < prompts.length; first += perChunk, chunk++) {
    const group = prompts.slice(first, first + perChunk);
    const fits = group.map((p) => p.length < cap);
    const ids = group.filter((_, i) => fits[i]).flatMap((p) => Array.from({ length: o.n }, () => p));
    const res = ids.length === 0 ? [] : (engine.reset(), generate(engine, ids, {
      temperature: o.temperature, topP: o.topP, topK: 0, minP: 0, maxNewTokens: Math.min(o.maxNewTokens, cap - 1), stopTokens: [o.end],
      seed: sequenceSeed(o.seed, chunk),
    }, { vocabLimit: o.vocabLimit }));
    const cands: GreedyReply[] = res.map((r) => {
      const cut = r.tokens.findIndex((t) => forbidden.has(t));
      if (cut >= 0) return { ids: r.tokens.slice(0, cut), stopToken: r.tokens[cut], ended: 'role' };
      return { ids: r.tokens, stopToken: r.finishReason === 'stop' ? o.end : null, ended: r.finishReason === 'stop' ? 'end' : r.finishReason };
    });
    const scores = scoreSequences(rm, cands.map((c, k) => [...ids[k], ...c.ids, o.end]));
    let k = 0;
    group.forEach((_, i) => {
      if (!fits[i]) {
        out.push({ ids: [], stopToken: null, ended: 'context' });
        return;
      }
      let best = k;
      for (let j = k + 1; j < k + o.n; j++) if (scores[j] > scores[best]) best = j;
      out.push(cands[best]);
      k += o.n;
    });
    o.onProgress?.(out.length);
  }
  return out;
}
