/**
 * `llmforge tokenizer train|encode|decode`: stage two of the flow (see docs/TOKENIZER.md).
 * `encode --ids` prints one id per line and `decode` reads that back, so they pipe into each other.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadTokenizer, setBatchThreads, trainTokenizerDetailed, TerminalProgress, silentProgress } from '../tokenizer/index.js';
import type { BpeTokenizer } from '../tokenizer/index.js';
import { applyConfigFile } from './data.js';
import { applyThreads, intArg } from './options.js';

interface TrainCliOptions {
  input?: string[];
  vocabSize?: number;
  pattern: string;
  special?: string[];
  out?: string;
  minFrequency: number;
  threads?: number;
  json?: boolean;
  progress: boolean;
  config?: string;
}

interface EncodeCliOptions {
  tokenizer?: string;
  input?: string;
  ids?: boolean;
  json?: boolean;
  allowSpecial?: boolean;
  config?: string;
}

interface DecodeCliOptions {
  tokenizer?: string;
  input?: string;
  config?: string;
}

/** Reads --input FILE or, without it, all of stdin; as UTF-8 text. */
export async function readInputText(file: string | undefined): Promise<string> {
  if (file !== undefined) {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`--input ${file}: cannot read (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function openTokenizer(path: string | undefined): Promise<BpeTokenizer> {
  if (!path) throw new Error('--tokenizer is required');
  return loadTokenizer(path);
}

/** Writes to stdout and waits until it is flushed (large outputs, pipes). */
function writeOut(text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Parses token ids: a JSON array, a JSON object with "ids" (what `encode --json` prints), or
 * integers separated by white space or commas (what `encode --ids` and plain `encode` print).
 */
export function parseIds(text: string, vocabSize: number, where: string): Uint32Array {
  const t = text.trim();
  let values: unknown[];
  if (t.startsWith('[') || t.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch (err) {
      throw new Error(`${where}: malformed JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (Array.isArray(parsed)) values = parsed;
    else if (parsed && typeof parsed === 'object' && Array.isArray((parsed as { ids?: unknown }).ids)) {
      values = (parsed as { ids: unknown[] }).ids;
    } else throw new Error(`${where}: expected a JSON array of ids or an object with "ids"`);
  } else {
    values = t === '' ? [] : t.split(/[\s,]+/);
  }
  const out = new Uint32Array(values.length);
  values.forEach((v, i) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 0 || n >= vocabSize) {
      throw new Error(`${where}: token ${i + 1} (${JSON.stringify(v)}) is not an id of this tokenizer (0..${vocabSize - 1})`);
    }
    out[i] = n;
  });
  return out;
}

export function registerTokenizer(program: Command): void {
  const tok = program.command('tokenizer').description('stage 2: text → tokens (train, encode, decode)');

  tok
    .command('train')
    .description('train a byte-level BPE tokenizer on text files and write tokenizer.json')
    .option('--input <path...>', 'text files or folders (recursive; .gz files are decompressed)')
    .option('--vocab-size <n>', 'total vocabulary: 256 bytes + merges + special tokens', intArg(1))
    .option('--pattern <p>', 'pre-tokenizer split: gpt2, gpt4 (digits in groups of 1-3) or a regex', 'gpt4')
    .option(
      '--special <token...>',
      'special tokens to reserve (default: <|bos|> <|eos|> <|pad|> <|system|> <|user|> <|assistant|> <|end|>; "none" for none)',
    )
    .option('--out <file>', 'where to write tokenizer.json (written whole or not at all)')
    .option('--min-frequency <n>', 'stop when no pair occurs this often', intArg(1), 1)
    .option('--threads <n>', 'threads for counting (default: all cores)', intArg(1))
    .option('--json', 'print {"bench":"tokenizer-train","seconds":...} on stdout')
    .option('--no-progress', 'no progress bar')
    .option('--config <file>', 'JSON file with any of these options (camelCase or flag names); flags override it')
    .action(async (_o: TrainCliOptions, command: Command) => {
      const first = command.opts<TrainCliOptions>();
      if (first.config) applyConfigFile(command, first.config);
      const o = command.opts<TrainCliOptions>();
      if (!o.input || o.input.length === 0) throw new Error('--input is required (text files or folders)');
      if (o.vocabSize === undefined) throw new Error('--vocab-size is required');
      if (!o.out) throw new Error('--out is required (the tokenizer.json to write)');
      const threads = applyThreads(o.threads);
      setBatchThreads(o.threads);
      const specials = o.special === undefined ? undefined : o.special.length === 1 && o.special[0] === 'none' ? [] : o.special;
      const progress = o.progress && process.stderr.isTTY ? new TerminalProgress() : silentProgress;
      const { tokenizer, stats } = await trainTokenizerDetailed({
        input: o.input,
        vocabSize: o.vocabSize,
        pattern: o.pattern,
        specialTokens: specials,
        minFrequency: o.minFrequency,
        out: o.out,
        progress,
      });
      const mb = stats.bytesRead / 1e6;
      if (o.json) {
        const record = {
          bench: 'tokenizer-train',
          seconds: round(stats.seconds, 3),
          input_mb: round(mb, 2),
          mb_per_s: round(mb / stats.seconds, 2),
          vocab_size: stats.vocabSize,
          merges: stats.merges,
          distinct_pieces: stats.words,
          pattern: tokenizer.pattern.name === 'custom' ? tokenizer.pattern.source : tokenizer.pattern.name,
          threads,
          backend: stats.backend,
          peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
          out: o.out,
        };
        await writeOut(`${JSON.stringify(record)}\n`);
      } else {
        if (stats.vocabSize < o.vocabSize) {
          process.stderr.write(
            `llmforge: warning: the corpus ran out of pairs to merge: vocabulary is ${stats.vocabSize}, not ${o.vocabSize}\n`,
          );
        }
        await writeOut(
          `trained ${stats.vocabSize} tokens (${stats.merges} merges, ${tokenizer.specialTokens.size} special) ` +
            `on ${mb.toFixed(1)} MB in ${stats.seconds.toFixed(2)} s → ${o.out}\n`,
        );
      }
    });

  tok
    .command('encode')
    .description('text → token ids (stdin when no --input)')
    .option('--tokenizer <path>', 'tokenizer.json, tiktoken rank file, or GPT-2 encoder.json / vocab.bpe')
    .option('--input <file>', 'text file (default: stdin)')
    .option('--ids', 'one id per line (what `tokenizer decode` reads)')
    .option('--json', 'one JSON object: {"tokens":N,"ids":[...]}')
    .option('--allow-special', 'treat special-token strings in the text as special tokens')
    .option('--config <file>', 'JSON file with any of these options (camelCase or flag names); flags override it')
    .action(async (_o: EncodeCliOptions, command: Command) => {
      const first = command.opts<EncodeCliOptions>();
      if (first.config) applyConfigFile(command, first.config);
      const o = command.opts<EncodeCliOptions>();
      if (o.ids && o.json) throw new Error('--ids and --json cannot be used together');
      const tokenizer = await openTokenizer(o.tokenizer);
      const text = await readInputText(o.input);
      const ids = tokenizer.encode(text, o.allowSpecial ? { allowedSpecial: 'all' } : undefined);
      if (o.json) await writeOut(`${JSON.stringify({ tokens: ids.length, ids: Array.from(ids) })}\n`);
      else if (o.ids) await writeOut(ids.length ? `${ids.join('\n')}\n` : '');
      else await writeOut(`${ids.join(' ')}\n`);
    });

  tok
    .command('decode')
    .description('token ids → text (ids one per line, space-separated, or a JSON array; stdin when no --input)')
    .option('--tokenizer <path>', 'tokenizer.json, tiktoken rank file, or GPT-2 encoder.json / vocab.bpe')
    .option('--input <file>', 'file of ids (default: stdin)')
    .option('--config <file>', 'JSON file with any of these options (camelCase or flag names); flags override it')
    .action(async (_o: DecodeCliOptions, command: Command) => {
      const first = command.opts<DecodeCliOptions>();
      if (first.config) applyConfigFile(command, first.config);
      const o = command.opts<DecodeCliOptions>();
      const tokenizer = await openTokenizer(o.tokenizer);
      const raw = await readInputText(o.input);
      const ids = parseIds(raw, tokenizer.vocabSize, o.input ? `--input ${o.input}` : 'stdin');
      // The exact bytes (a cut UTF-8 sequence stays as it is rather than becoming U+FFFD).
      await writeOut(tokenizer.decodeBytes(ids));
    });
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
