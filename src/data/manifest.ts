/** `manifest.json`: what a prepared dataset holds and where it came from. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DataError } from './errors.js';

export const MANIFEST_FILE = 'manifest.json';
/** The tokenizer the dataset was made with, copied beside the shards. */
export const TOKENIZER_FILE = 'tokenizer.json';
export const MANIFEST_FORMAT = 'llmforge-dataset';
export const MANIFEST_VERSION = 1;

const count = z.number().int().nonnegative();

const sourceSchema = z.object({
  path: z.string(),
  format: z.enum(['txt', 'md', 'jsonl']),
  gzip: z.boolean(),
  bytes: count,
  documents: count,
  kept: count,
  duplicates: count,
  too_short: count,
  invalid_bytes: count,
  control_chars: count,
  bad_lines: count,
  tokens: count,
});

const shardSchema = z.object({
  file: z.string().regex(/^(train|val)-\d{5}\.bin$/),
  split: z.enum(['train', 'val']),
  tokens: count,
  documents: count,
  bytes: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  created_by: z.string(),
  dataset_id: z.string(),
  tokenizer_hash: z.string(),
  tokenizer: z.object({
    file: z.literal(TOKENIZER_FILE),
    hash: z.string(),
    vocab_size: z.number().int().positive(),
    separator: z.string(),
    separator_id: count,
  }),
  dtype: z.enum(['uint16', 'uint32']),
  documents: count,
  train_documents: count,
  val_documents: count,
  train_tokens: count,
  val_tokens: count,
  /** UTF-8 bytes of the documents' text per split (bits per byte = nats·tokens/(bytes·ln 2)). */
  train_bytes: count,
  val_bytes: count,
  source_bytes: count,
  duplicates_removed: count,
  dedup: z.object({
    mode: z.enum(['none', 'exact', 'near']),
    exact: count,
    near: count,
    near_threshold: z.number(),
    num_perm: count,
    bands: count,
    rows: count,
    shingle_words: count,
  }),
  too_short: count,
  invalid_bytes: count,
  control_chars: count,
  bad_lines: count,
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  ignored_files: z.array(z.string()),
  sources: z.array(sourceSchema),
  shards: z.array(shardSchema),
  options: z.object({
    val_fraction: z.number(),
    seed: z.number().int(),
    min_chars: count,
    text_field: z.string(),
    doc_chars: count,
    shard_tokens: count,
    skip_bad_lines: z.boolean(),
  }),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestSource = z.infer<typeof sourceSchema>;
export type ManifestShard = z.infer<typeof shardSchema>;

/** A stable id of a dataset's content: sha256 of its shards' names and checksums. */
export function datasetId(shards: readonly { file: string; sha256: string }[]): string {
  const h = createHash('sha256');
  for (const s of shards) h.update(`${s.file} ${s.sha256}\n`);
  return h.digest('hex').slice(0, 16);
}

/**
 * The number of ids of a Hugging Face tokenizer.json (largest id + 1 over the vocab and the
 * added tokens), or null for another format: enough to check a manifest without loading it.
 */
function tokenizerJsonIds(text: string): number | null {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof obj !== 'object' || obj === null || !('model' in obj)) return null;
  const { model, added_tokens: added } = obj as { model: unknown; added_tokens?: unknown };
  if (typeof model !== 'object' || model === null || !('vocab' in model)) return null;
  const vocab = (model as { vocab: unknown }).vocab;
  if (typeof vocab !== 'object' || vocab === null) return null;
  let max = -1;
  for (const id of Object.values(vocab)) if (typeof id === 'number' && id > max) max = id;
  if (Array.isArray(added)) {
    for (const t of added as unknown[]) {
      const id = typeof t === 'object' && t !== null && 'id' in t ? t.id : undefined;
      if (typeof id === 'number' && id > max) max = id;
    }
  }
  return max + 1;
}

/**
 * The tokenizer saved beside the shards must be the one the manifest names (its sha256) and have
 * the manifest's vocabulary size. Without a tokenizer.json (the trainer may be given one with
 * --tokenizer, which it checks against tokenizer_hash) only the manifest's own fields are compared.
 */
export async function checkDatasetTokenizer(dir: string, m: Manifest): Promise<void> {
  const mpath = join(dir, MANIFEST_FILE);
  if (m.tokenizer_hash !== m.tokenizer.hash) {
    throw new DataError(`${mpath}: fields tokenizer_hash (${m.tokenizer_hash.slice(0, 16)}…) and tokenizer.hash (${m.tokenizer.hash.slice(0, 16)}…) disagree`);
  }
  const path = join(dir, m.tokenizer.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if (err && typeof err === 'object' && 'code' in err && err.code === 'ENOENT') return;
    throw new DataError(`${path}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== m.tokenizer.hash) {
    throw new DataError(
      `${path}: not the tokenizer this data was prepared with (sha256 ${got.slice(0, 16)}…, manifest.json says ${m.tokenizer.hash.slice(0, 16)}…)`,
    );
  }
  const ids = tokenizerJsonIds(bytes.toString('utf8'));
  if (ids !== null && ids !== m.tokenizer.vocab_size) {
    throw new DataError(`${mpath}: field tokenizer.vocab_size is ${m.tokenizer.vocab_size} but ${m.tokenizer.file} has ${ids} ids`);
  }
}

/** Reads and checks `DIR/manifest.json`; errors name the directory and the field. */
export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = err && typeof err === 'object' && 'code' in err ? err.code : '';
    if (code === 'ENOENT') {
      throw new DataError(`no dataset in '${dir}': ${MANIFEST_FILE} is missing (create one with \`llmforge data prepare --out ${dir}\`)`);
    }
    if (code === 'ENOTDIR') throw new DataError(`'${dir}' is not a folder`);
    throw new DataError(`${path}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DataError(`${path}: invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (raw && typeof raw === 'object' && 'format' in raw && raw.format !== MANIFEST_FORMAT) {
    throw new DataError(`${path}: field format is ${JSON.stringify(raw.format)}, expected "${MANIFEST_FORMAT}"`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    throw new DataError(`${path}: field ${field || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
