/** `llmforge export`: a checkpoint → a Hugging Face folder or a GGUF file for llama.cpp (docs/INTEROP.md). */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { modelForExport, writeKeptAdapter } from '../export/adapter.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { chatTemplateFor, exportHf } from '../export/hf-export.js';
import type { HfDtype } from '../export/hf-files.js';
import { exportGguf, type GgufDtype } from '../export/gguf-export.js';
import { Progress } from '../util/progress.js';
import { applyConfigFile } from './data.js';

type Format = 'hf' | 'gguf';
const DTYPES: Record<Format, readonly string[]> = { hf: ['f32', 'f16', 'bf16'], gguf: ['f32', 'f16', 'q8_0'] };

interface ExportCliOptions {
  model?: string;
  format?: Format;
  dtype: string;
  out?: string;
  tokenizer?: string;
  name?: string;
  json?: boolean;
  config?: string;
  adapter?: string;
  keepAdapter?: boolean;
}

function formatArg(value: string): Format {
  if (value !== 'hf' && value !== 'gguf') throw new InvalidArgumentError(`expected hf or gguf, got '${value}'`);
  return value;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a checkpoint as a Hugging Face model folder (--format hf) or a llama.cpp GGUF file (--format gguf)')
    .option('--model <dir>', 'run folder (its latest checkpoint) or checkpoint folder (required)')
    .option('--format <format>', 'hf (folder for transformers / vLLM) or gguf (file for llama.cpp / Ollama) (required)', formatArg)
    .option('--dtype <dtype>', 'weights: f32, f16 or bf16 for hf; f32, f16 or q8_0 for gguf', 'f32')
    .option('--out <path>', 'the folder (hf; must be new or empty) or .gguf file to write (required)')
    .option('--tokenizer <path>', 'tokenizer file (default: tokenizer.json in the checkpoint)')
    .option('--name <name>', 'model name in the GGUF metadata (default: the run or checkpoint folder name)')
    .option('--adapter <dir>', 'a LoRA adapter (PEFT folder, or a finetune run): merged into the weights unless --keep-adapter')
    .option('--keep-adapter', 'with --adapter and --format hf: export the base and write the PEFT adapter beside it (OUT/adapter)')
    .option('--json', 'print one JSON object with what was written')
    .option('--config <file>', 'JSON file with any of these options; flags override it')
    .action(async (o: ExportCliOptions, command: Command) => {
      if (o.config) applyConfigFile(command, o.config);
      o = command.opts<ExportCliOptions>();
      if (o.model === undefined) throw new Error('--model is required: a run folder or a checkpoint folder');
      if (o.format === undefined) throw new Error('--format is required: hf or gguf');
      if (o.out === undefined) throw new Error(`--out is required: the ${o.format === 'hf' ? 'folder' : '.gguf file'} to write`);
      if (!DTYPES[o.format].includes(o.dtype)) {
        throw new Error(`--dtype ${o.dtype}: not available for --format ${o.format} (choose ${DTYPES[o.format].join(', ')})`);
      }
      if (o.keepAdapter && o.adapter === undefined) throw new Error('--keep-adapter needs --adapter DIR');
      if (o.keepAdapter && o.format !== 'hf') throw new Error('--keep-adapter: only --format hf (GGUF files here hold merged weights: drop --keep-adapter)');
      const t0 = performance.now();
      const { model, dir, adapted } = modelForExport(o.model, o.adapter, o.keepAdapter === true);
      const tokPath = o.tokenizer ?? join(dir, 'tokenizer.json');
      if (o.tokenizer === undefined && !existsSync(tokPath)) throw new Error(`${dir}: the checkpoint has no tokenizer.json (pass --tokenizer PATH)`);
      const tokenizer = await loadTokenizer(tokPath);
      if (tokenizer.vocabSize > model.config.vocabSize) {
        throw new Error(`${tokPath}: the tokenizer has ${tokenizer.vocabSize} ids but the model in ${dir} only ${model.config.vocabSize}`);
      }
      let bar: Progress | undefined;
      const onTensor = (done: number, total: number): void => {
        bar ??= new Progress({ total, label: 'export', unit: 'tensor', whenPiped: false });
        bar.update(done);
      };
      let record: Record<string, unknown>;
      if (o.format === 'hf') {
        const r = await exportHf(model, tokenizer, o.out, o.dtype as HfDtype, onTensor);
        record = { files: r.files, tensors: r.tensors, weight_bytes: r.bytes };
        if (adapted !== null) record.adapter = writeKeptAdapter(o.out, adapted);
      } else {
        if (tokenizer.normalizer !== 'none') {
          process.stderr.write(`llmforge: warning: ${tokPath} normalizes text to ${tokenizer.normalizer.toUpperCase()}; llama.cpp does not, so only already-normalized text tokenizes identically\n`);
        }
        if (existsSync(o.out) && statSync(o.out).isDirectory()) throw new Error(`--out ${o.out}: is a folder; give the path of the .gguf file to write`);
        mkdirSync(dirname(o.out), { recursive: true });
        // A run's checkpoint (RUN/checkpoints/step-N) is named after the run.
        const name = o.name ?? (basename(dirname(dir)) === 'checkpoints' ? basename(dirname(dirname(dir))) : basename(dir));
        const r = exportGguf(model, tokenizer, o.out, o.dtype as GgufDtype, { name, chatTemplate: chatTemplateFor(tokenizer), onTensor });
        record = { tensors: r.tensors, bytes: r.bytes };
      }
      bar?.clear();
      const seconds = Math.round((performance.now() - t0) / 10) / 100;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ command: 'export', format: o.format, dtype: o.dtype, model: dir, out: o.out, family: model.config.family, ...record, seconds })}\n`);
      } else {
        process.stderr.write(`exported ${model.config.family} model (${model.params.count} parameters) to ${o.out} as ${o.format} ${o.dtype} in ${seconds} s\n`);
      }
    });
}
