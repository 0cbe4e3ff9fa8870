/**
 * The tokenizer as GGUF metadata, the way llama.cpp's convert_hf_to_gguf.py writes a
 * byte-level BPE ("gpt2" model) vocabulary:
 *
 *   tokenizer.ggml.model = "gpt2", tokenizer.ggml.pre = the pre-tokenizer llama.cpp should run,
 *   tokens (byte-level strings, Ġ for space; special tokens as their text; [PAD<id>] for ids
 *   past the tokenizer), token_type (1 normal, 3 control, 5 unused), merges ("a b", rank
 *   order), bos/eos/eot/pad ids, add_bos_token, chat_template.
 *
 * llama.cpp does not run the regex of the file: `pre` names one of its built-in splitters.
 * Our named patterns map to the built-in whose regex is identical:
 *   gpt2 → "gpt-2"  ('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)
 *   gpt4 → "dbrx"   (cl100k's regex, with llama.cpp's ASCII spelling of (?i:'s|…): the pre-type
 *                    with that regex and without Llama 3's ignore_merges)
 *   gpt4 with ignore_merges (a Llama-3 tokenizer) → "llama-bpe"
 * A custom regex has no llama.cpp equivalent: export refuses rather than tokenize differently.
 */
import type { BpeTokenizer } from '../tokenizer/index.js';
import { bytesToTokenString } from '../tokenizer/index.js';
import { documentStartToken } from '../model/framing.js';
import { bool, i32s, str, strings, u32, type GgufValue } from './gguf.js';

const TOKEN_NORMAL = 1;
const TOKEN_CONTROL = 3;
const TOKEN_UNUSED = 5;

/** llama.cpp's tokenizer.ggml.pre value for the tokenizer's pattern (an error when there is none). */
export function llamaCppPreTokenizer(t: BpeTokenizer): string {
  const p = t.pattern.name;
  if (p === 'gpt2' && !t.model.ignoreMerges) return 'gpt-2';
  if (p === 'gpt4') return t.model.ignoreMerges ? 'llama-bpe' : 'dbrx';
  if (p === 'gpt2') throw new Error('tokenizer: GPT-2 split pattern with ignore_merges has no llama.cpp pre-tokenizer');
  throw new Error(`tokenizer: custom split pattern ${JSON.stringify(t.pattern.source)} has no llama.cpp pre-tokenizer ` +
    '(llama.cpp runs built-in splitters only; GGUF export supports tokenizers trained with --pattern gpt2 or gpt4)');
}

const END_OF_TURN = ['<|end|>', '<|eot_id|>', '<|im_end|>'];
const DOC_END = ['<|eos|>', '<|endoftext|>', '<|end_of_text|>', '</s>'];
const PAD = ['<|pad|>', '<pad>', '[PAD]'];

export function ggufTokenizerMetadata(t: BpeTokenizer, vocabSize: number, chatTemplate: string | null): Array<[string, GgufValue]> {
  const specialById = new Map<number, string>();
  for (const [content, id] of t.specialTokens) specialById.set(id, content);
  const texts: string[] = [];
  const types: number[] = [];
  const seen = new Map<string, number>();
  for (let id = 0; id < vocabSize; id++) {
    const special = specialById.get(id);
    const bytes = t.model.tokens[id];
    const text = special ?? (bytes ? bytesToTokenString(bytes) : `[PAD${id}]`);
    const prev = seen.get(text);
    if (prev !== undefined) throw new Error(`tokenizer: ids ${prev} and ${id} are both ${JSON.stringify(text)}; llama.cpp needs distinct token strings`);
    seen.set(text, id);
    texts.push(text);
    types.push(special !== undefined ? TOKEN_CONTROL : bytes ? TOKEN_NORMAL : TOKEN_UNUSED);
  }
  const merges = t.model.merges.map((m) => `${texts[m.a]} ${texts[m.b]}`);
  const find = (names: readonly string[]): number | undefined => names.map((n) => t.specialTokens.get(n)).find((id) => id !== undefined);
  const bos = documentStartToken(t);
  const eos = find(DOC_END) ?? find(END_OF_TURN);
  const eot = find(END_OF_TURN);
  const pad = find(PAD);
  const meta: Array<[string, GgufValue]> = [
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str(llamaCppPreTokenizer(t))],
    ['tokenizer.ggml.tokens', strings(texts)],
    ['tokenizer.ggml.token_type', i32s(types)],
    ['tokenizer.ggml.merges', strings(merges)],
  ];
  if (bos !== null) meta.push(['tokenizer.ggml.bos_token_id', u32(bos)]);
  if (eos !== undefined) meta.push(['tokenizer.ggml.eos_token_id', u32(eos)]);
  if (eot !== undefined) meta.push(['tokenizer.ggml.eot_token_id', u32(eot)]);
  if (pad !== undefined) meta.push(['tokenizer.ggml.padding_token_id', u32(pad)]);
  // Prompts start with the document separator, as `llmforge generate` does (src/infer/load.ts).
  meta.push(['tokenizer.ggml.add_bos_token', bool(bos !== null)]);
  meta.push(['tokenizer.ggml.add_eos_token', bool(false)]);
  if (chatTemplate !== null) meta.push(['tokenizer.chat_template', str(chatTemplate)]);
  return meta;
}
