/** `llmforge import`: a Hugging Face GPT-2 / Llama folder → an llmforge checkpoint (docs/INTEROP.md). */
import type { Command } from 'commander';
import { importHf } from '../export/import.js';
import { applyConfigFile } from './data.js';

interface ImportCliOptions {
  from?: string;
  out?: string;
  json?: boolean;
  config?: string;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('read a Hugging Face GPT2LMHeadModel / LlamaForCausalLM folder into an llmforge checkpoint folder')
    .option('--from <dir>', 'the Hugging Face model folder: config.json, model.safetensors (or sharded), tokenizer.json (required)')
    .option('--out <dir>', 'the checkpoint folder to write (must be new or empty) (required)')
    .option('--json', 'print one JSON object with what was imported')
    .option('--config <file>', 'JSON file with any of these options; flags override it')
    .action(async (o: ImportCliOptions, command: Command) => {
      if (o.config) applyConfigFile(command, o.config);
      o = command.opts<ImportCliOptions>();
      if (o.from === undefined) throw new Error('--from is required: a Hugging Face model folder');
      if (o.out === undefined) throw new Error('--out is required: the checkpoint folder to write');
      const t0 = performance.now();
      const r = await importHf(o.from, o.out);
      const seconds = Math.round((performance.now() - t0) / 10) / 100;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ command: 'import', from: o.from, out: o.out, family: r.config.family, parameters: r.parameters, config: r.config, seconds })}\n`);
      } else {
        process.stderr.write(`imported ${r.config.family} model (${r.parameters} parameters, tokenizer ${r.tokenizerVocab} ids) into ${o.out} in ${seconds} s\n`);
      }
    });
}
