/**
 * Writes the Hugging Face `tokenizer.json` of a byte-level BPE tokenizer: model BPE (vocab + merges),
 * ByteLevel pre-tokenizer (GPT-2's regex built in) or Split(regex) + ByteLevel, ByteLevel decoder,
 * special tokens as added tokens. The text is deterministic: same tokenizer → same bytes.
 */
import type { BpeModel } from './bpe.js';
import { bytesToTokenString } from './bytes.js';
import type { Pattern } from './pretokenize.js';

export interface TokenizerJsonSource {
  readonly model: BpeModel;
  readonly pattern: Pattern;
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly normalizer: 'none' | 'nfc';
}

const j = (v: unknown): string => JSON.stringify(v);

export function preTokenizerJson(pattern: Pattern): unknown {
  const byteLevel = (useRegex: boolean) => ({
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: useRegex,
  });
  if (pattern.name === 'gpt2') return byteLevel(true);
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: pattern.source }, behavior: 'Isolated', invert: false },
      byteLevel(false),
    ],
  };
}

export function writeTokenizerJson(t: TokenizerJsonSource): string {
  const specials = [...t.specialTokens].sort((x, y) => x[1] - y[1]);
  const lines: string[] = [];
  lines.push('{');
  lines.push(`  "version": "1.0",`);
  lines.push(`  "truncation": null,`);
  lines.push(`  "padding": null,`);
  if (specials.length === 0) lines.push(`  "added_tokens": [],`);
  else {
    lines.push(`  "added_tokens": [`);
    specials.forEach(([content, id], i) => {
      const entry = {
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      };
      lines.push(`    ${j(entry)}${i + 1 < specials.length ? ',' : ''}`);
    });
    lines.push(`  ],`);
  }
  lines.push(`  "normalizer": ${t.normalizer === 'nfc' ? j({ type: 'NFC' }) : 'null'},`);
  lines.push(`  "pre_tokenizer": ${j(preTokenizerJson(t.pattern))},`);
  lines.push(`  "post_processor": null,`);
  lines.push(`  "decoder": ${j({ type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true })},`);
  lines.push(`  "model": {`);
  lines.push(`    "type": "BPE",`);
  lines.push(`    "dropout": null,`);
  lines.push(`    "unk_token": null,`);
  lines.push(`    "continuing_subword_prefix": null,`);
  lines.push(`    "end_of_word_suffix": null,`);
  lines.push(`    "fuse_unk": false,`);
  lines.push(`    "byte_fallback": false,`);
  if (t.model.ignoreMerges) lines.push(`    "ignore_merges": true,`);
  const strs: Array<string | undefined> = t.model.tokens.map((b) => (b ? bytesToTokenString(b) : undefined));
  const vocab: string[] = [];
  strs.forEach((s, id) => {
    if (s !== undefined) vocab.push(`      ${j(s)}: ${id}`);
  });
  lines.push(vocab.length ? `    "vocab": {\n${vocab.join(',\n')}\n    },` : `    "vocab": {},`);
  const merges = t.model.merges.map((m) => `      ${j(`${strs[m.a]} ${strs[m.b]}`)}`);
  lines.push(merges.length ? `    "merges": [\n${merges.join(',\n')}\n    ]` : `    "merges": []`);
  lines.push(`  }`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
