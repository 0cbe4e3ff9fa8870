/**
 * What DPO and the reward model share before training: the preference files read and
 * rendered into sequence pairs, a held-out share chosen by content, and a digest of the
 * training pairs (resuming on other data is refused).
 */
import { createHash } from 'node:crypto';
import { chatTokens, renderChat, type ChatTokens, type RenderedChat } from '../model/chat.js';
import { pairCount } from '../model/chat-rows.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { readPreferencePairs, type PreferencePair } from './prefs-data.js';

/**
 * prompt + reply + <|end|> with only the reply and its <|end|> in the mask (earlier
 * assistant turns of the prompt are context, not what is compared). `scoreToken` appends
 * one more token so <|end|> is itself an input (the reward model reads its hidden state).
 */
export function renderReply(t: Tokenizer, prompt: PreferencePair['prompt'], reply: string, scoreToken: number | null = null): RenderedChat {
  const full = renderChat(t, [...prompt, { role: 'assistant', content: reply }]);
  const start = renderChat(t, prompt, { addGenerationPrompt: true }).ids.length;
  const mask = Uint8Array.from(full.mask, (m, i) => (i < start ? 0 : m));
  if (scoreToken === null) return { ids: full.ids, mask };
  return { ids: [...full.ids, scoreToken], mask: Uint8Array.from([...mask, 0]) };
}

/** Held out by content: the same pair is always on the same side. */
export function pairHeldOut(p: PreferencePair, fraction: number): boolean {
  if (fraction <= 0) return false;
  const h = createHash('sha256').update(JSON.stringify([p.prompt, p.chosen, p.rejected])).digest();
  return h.readUInt32LE(0) / 2 ** 32 < fraction;
}

export interface PairData {
  tok: ChatTokens;
  train: PreferencePair[];
  val: PreferencePair[];
  /** Interleaved chosen/rejected sequences of train and val. */
  trainSeqs: RenderedChat[];
  valSeqs: RenderedChat[];
  /** Digest of the training sequences. */
  hash: string;
  /** Pairs dropped because a reply had no trained token within the context. */
  dropped: number;
  /** Pairs by their "source" field (human, rules, …). */
  origins: Record<string, number>;
}

function digest(seqs: readonly RenderedChat[]): string {
  const h = createHash('sha256');
  for (const s of seqs) h.update(Int32Array.from(s.ids)).update(s.mask);
  return h.digest('hex').slice(0, 16);
}

export async function loadPairData(o: {
  tokenizer: Tokenizer; tokPath: string; data: string[]; valData?: string[]; valFraction: number; valMax: number; T: number;
  scoreToken?: boolean; skipBadLines?: boolean; log: (line: string) => void;
}): Promise<PairData> {
  let tok: ChatTokens;
  try {
    tok = chatTokens(o.tokenizer);
  } catch (err) {
    throw new Error(`${o.tokPath}: ${(err as Error).message}`);
  }
  const read = { skipBadLines: o.skipBadLines, onSkip: (where: string, why: string) => o.log(`warning: ${where}: ${why} (skipped)`) };
  const all = await readPreferencePairs(o.data, read);
  const val0 = o.valData ? await readPreferencePairs(o.valData, read) : all.filter((p) => pairHeldOut(p, o.valFraction));
  const train0 = o.valData ? all : all.filter((p) => !pairHeldOut(p, o.valFraction));
  const scoreToken = o.scoreToken ? (tok.pad ?? tok.end) : null;
  let dropped = 0;
  const render = (pairs: PreferencePair[]): { pairs: PreferencePair[]; seqs: RenderedChat[] } => {
    const kept: PreferencePair[] = [];
    const seqs: RenderedChat[] = [];
    for (const p of pairs) {
      const c = renderReply(o.tokenizer, p.prompt, p.chosen, scoreToken);
      const r = renderReply(o.tokenizer, p.prompt, p.rejected, scoreToken);
      // A reply cut off entirely by the context has nothing to compare.
      const trains = (s: RenderedChat): boolean => s.mask.subarray(1, pairCount(s, o.T) + 1).includes(1);
      if (!trains(c) || !trains(r)) {
        dropped++;
        continue;
      }
      kept.push(p);
      seqs.push(c, r);
    }
    return { pairs: kept, seqs };
  };
  const tr = render(train0);
  const va = render(val0.slice(0, o.valMax));
  if (tr.pairs.length === 0) throw new Error(`${o.data.join(', ')}: no preference pairs left to train on`);
  const origins: Record<string, number> = {};
  for (const p of all) origins[p.origin ?? 'unlabelled'] = (origins[p.origin ?? 'unlabelled'] ?? 0) + 1;
  return { tok, train: tr.pairs, val: va.pairs, trainSeqs: tr.seqs, valSeqs: va.seqs, hash: digest(tr.seqs), dropped, origins };
}
