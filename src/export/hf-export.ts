/**
 * `llmforge export --format hf`: a folder transformers loads with
 * AutoModelForCausalLM.from_pretrained / AutoTokenizer.from_pretrained:
 *
 *   config.json              GPT2LMHeadModel / LlamaForCausalLM fields (hf-config.ts)
 *   model.safetensors        HF names and layouts (hf-layout.ts), F32 / F16 / BF16
 *   generation_config.json   bos, the ids that end generation, pad
 *   tokenizer.json           the byte-level BPE tokenizer
 *   tokenizer_config.json    bos/eos/pad tokens, model_max_length and, when the tokenizer has the chat
 *                            tokens, the chat template (src/model/chat.ts: the format we train on)
 *   special_tokens_map.json
 */
import { join } from 'node:path';
import type { GPT } from '../nn/gpt.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { documentStartToken, endTokenIds } from '../model/framing.js';
import { CHAT_SPECIALS, CHAT_TEMPLATE, tokenizerConfig } from '../model/chat.js';
import { writeFileAtomic } from '../util/atomic.js';
import { toHfConfig, type SpecialIds } from './hf-config.js';
import { encodeHfSafetensors, TORCH_DTYPE, type HfDtype } from './hf-files.js';
import { toHfTensors } from './hf-layout.js';
import { writeDirAtomic } from './out-dir.js';

const PAD_TOKENS = ['<|pad|>', '<pad>', '[PAD]'];

/** bos (the document separator prompts start with), every id that ends generation, pad. */
export function specialIds(t: Tokenizer): SpecialIds {
  const pad = PAD_TOKENS.map((n) => t.specialTokens.get(n)).find((id) => id !== undefined) ?? null;
  return { bos: documentStartToken(t), eos: endTokenIds(t), pad };
}

function nameOf(t: Tokenizer, id: number | null): string | null {
  if (id === null) return null;
  for (const [name, i] of t.specialTokens) if (i === id) return name;
  return null;
}

/** The chat template when the tokenizer has every token of the chat format, else null. */
export function chatTemplateFor(t: Tokenizer): string | null {
  const needed = [CHAT_SPECIALS.bos, CHAT_SPECIALS.system, CHAT_SPECIALS.user, CHAT_SPECIALS.assistant, CHAT_SPECIALS.end];
  return needed.every((n) => t.specialTokens.has(n)) ? CHAT_TEMPLATE : null;
}

/** tokenizer_config.json: what AutoTokenizer needs beside tokenizer.json (the chat format's when it has one). */
export function hfTokenizerConfig(t: Tokenizer, contextLength: number): Record<string, unknown> {
  if (chatTemplateFor(t) !== null) return tokenizerConfig(t, contextLength);
  const ids = specialIds(t);
  const eos = ids.eos.find((id) => id !== ids.bos) ?? ids.eos[0] ?? null;
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: nameOf(t, ids.bos),
    eos_token: nameOf(t, eos),
    pad_token: nameOf(t, ids.pad),
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: contextLength,
  };
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

export interface HfExportResult {
  files: string[];
  tensors: number;
  bytes: number;
}

export async function exportHf(model: GPT, tokenizer: Tokenizer, out: string, dtype: HfDtype,
  onTensor?: (done: number, total: number) => void): Promise<HfExportResult> {
  const c = model.config;
  const ids = specialIds(tokenizer);
  const tensors = toHfTensors(model);
  const tokConfig = hfTokenizerConfig(tokenizer, c.contextLength);
  const special: Record<string, string> = {};
  for (const k of ['bos_token', 'eos_token', 'pad_token']) if (typeof tokConfig[k] === 'string') special[k] = tokConfig[k] as string;
  let bytes = 0;
  await writeDirAtomic(out, '--out', (tmp) => {
    const weights = encodeHfSafetensors(tensors, dtype, onTensor);
    bytes = weights.reduce((n, b) => n + b.length, 0);
    writeFileAtomic(join(tmp, 'model.safetensors'), weights);
    writeFileAtomic(join(tmp, 'config.json'), json(toHfConfig(c, ids, TORCH_DTYPE[dtype])));
    writeFileAtomic(join(tmp, 'generation_config.json'), json({
      bos_token_id: ids.bos, eos_token_id: ids.eos, ...(ids.pad !== null ? { pad_token_id: ids.pad } : {}),
    }));
    writeFileAtomic(join(tmp, 'tokenizer.json'), tokenizer.toTokenizerJson());
    writeFileAtomic(join(tmp, 'tokenizer_config.json'), json(tokConfig));
    writeFileAtomic(join(tmp, 'special_tokens_map.json'), json(special));
  });
  const files = ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'];
  return { files, tensors: tensors.length, bytes };
}
