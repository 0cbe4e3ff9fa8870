/**
 * Best-of-N: of N sampled replies to a prompt, keep the one a reward model scores highest.
 * Replies are scored as the reward model was trained: a chat reply as prompt + reply +
 * <|end|> in the chat template, plain text as the prompt and continuation in the reward
 * model's own tokenizer (so the policy's tokenizer may differ).
 */
import { documentStartToken, encodePrompt } from '../model/framing.js';
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
