/** `llmforge run [pipeline.json]`: the whole flow as resumable stages (src/pipeline/run.ts, docs/PIPELINE.md). */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError } from 'commander';
import { readPipeline, STAGE_NAMES, type StageName } from '../pipeline/config.js';
import { runPipeline } from '../pipeline/run.js';
import { formatDuration } from '../util/progress.js';

/** The default pipeline: the embedded data, what `npm start` runs. */
export const DEFAULT_PIPELINE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'pipeline.json');
export const DEFAULT_OUT = join('runs', 'quickstart');

interface Opts {
  out?: string;
  only?: StageName;
  from?: StageName;
  fresh?: boolean;
}

function stageArg(v: string): StageName {
  if (!(STAGE_NAMES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${STAGE_NAMES.join(', ')}, got '${v}'`);
  return v as StageName;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('the whole flow — tokenizer → data → pretrain → sft → prefs → dpo → eval — as resumable stages, ending in a chat model and a report card')
    .argument('[pipeline]', 'pipeline JSON (default: examples/pipeline.json, the embedded data)')
    .option('--out <dir>', `output folder (default: the file's "out", else ${DEFAULT_OUT})`)
    .option('--only <stage>', 'run just this stage again (the ones before it must be done)', stageArg)
    .option('--from <stage>', 'run this stage and every one after it again', stageArg)
    .option('--fresh', 'delete the stages already in --out and start over')
    .action(async (file: string | undefined, o: Opts) => {
      if (o.only !== undefined && o.from !== undefined) throw new Error('--only and --from cannot be combined: choose one');
      const config = readPipeline(file ?? DEFAULT_PIPELINE);
      const out = o.out ?? config.out ?? DEFAULT_OUT;
      const r = await runPipeline({ config, out, only: o.only, from: o.from, fresh: o.fresh });
      const rel = (p: string): string => {
        const r = relative(process.cwd(), p);
        return r === '' ? '.' : r.startsWith('..') ? p : r;
      };
      const ran = r.stages.filter((s) => s.status !== 'done').length;
      process.stdout.write(`\nDone in ${formatDuration(r.seconds)} (${ran} of ${r.stages.length} stages ran; the rest were already done).\n` +
        `Report card: ${rel(r.report.html)} (open it in a browser) and ${rel(r.report.md)}\n`);
      if (r.final !== null) {
        const m = rel(r.final);
        process.stdout.write(`Chat model: ${m}\n` +
          `  chat:    npx llmforge chat --model ${m}\n` +
          `  serve:   npx llmforge serve --model ${m}\n` +
          `  export:  npx llmforge export --model ${m} --format gguf --out model.gguf\n` +
          `  eval:    npx llmforge eval --model ${m} --suite chat\n`);
      }
    });
}
