/** `llmforge sft`: supervised fine-tuning of a pretrained checkpoint on chat conversations. */
import { type Command, InvalidArgumentError } from 'commander';
import { sft, sftConfigFromOptions, SFT_DEFAULTS, type SftFlags } from '../align/index.js';
import { applyThreads, intArg, numberArg } from './options.js';

function layoutArg(v: string): 'packed' | 'padded' {
  if (v !== 'packed' && v !== 'padded') throw new InvalidArgumentError(`expected packed or padded, got '${v}'`);
  return v;
}

export function registerSft(program: Command): void {
  program
    .command('sft')
    .description('supervised fine-tuning: teach a pretrained model the chat format on JSONL conversations (loss on assistant tokens only)')
    .option('--init-from <model>', 'pretrained run folder or checkpoint (required unless --resume)')
    .option('--data <path...>', 'chat JSONL: files, folders, globs, .jsonl.gz ({"messages":[...]} or {"prompt","completion"})')
    .option('--val-data <path...>', 'held-out conversations for the val loss (default: 2% of --data, chosen by content)')
    .requiredOption('--out <dir>', 'run folder: checkpoints (with tokenizer_config.json), metrics.jsonl, loss.svg, lr.svg')
    .option('--epochs <n>', 'passes over the data (default 3)', numberArg(0.001, 1e6))
    .option('--max-steps <n>', 'optimizer steps (instead of --epochs)', intArg(1))
    .option('--max-minutes <m>', 'stop after this much wall time', numberArg(0.001))
    .option('--lr <x>', `peak learning rate (default ${SFT_DEFAULTS.optimizer.lr})`, numberArg(1e-8, 1))
    .option('--warmup-steps <n>', `learning-rate warmup (default ${SFT_DEFAULTS.schedule.warmupSteps}; a tenth of the run when it would take over half)`, intArg(0))
    .option('--batch <n>', `rows per micro-batch (default ${SFT_DEFAULTS.batch.microBatch})`, intArg(1))
    .option('--layout <kind>', 'packed (several conversations per row, default) or padded (one per row)', layoutArg)
    .option('--config <file>', 'SFT config JSON (the train config without "model", plus "sft": {epochs, layout, valFraction, valMax}); flags override it')
    .option('--resume', 'continue the run in --out from its latest checkpoint (with its saved config; flags override)')
    .option('--seed <n>', 'random seed (data order)', intArg(0))
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--save-every <n>', 'checkpoint every n steps (0: only at the end)', intArg(0))
    .option('--eval-every <n>', 'val loss and sample replies every n steps (0: only at the end)', intArg(0))
    .option('--skip-bad-lines', 'count and skip malformed JSONL lines instead of stopping')
    .option('--json', 'print a JSON summary on stdout at the end')
    .action(async (o: SftFlags) => {
      if (o.epochs !== undefined && o.maxSteps !== undefined) throw new Error('--epochs and --max-steps cannot be combined: choose one');
      if (!o.resume && o.initFrom === undefined) throw new Error('--init-from is required: the pretrained run or checkpoint to start from');
      if (o.data === undefined) throw new Error('--data is required: chat JSONL files or folders');
      const config = sftConfigFromOptions(o);
      applyThreads(config.threads);
      const r = await sft({
        initFrom: o.initFrom ?? '', data: o.data, valData: o.valData, outDir: o.out, config, resume: o.resume, skipBadLines: o.skipBadLines,
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify({
          command: 'sft', steps: r.steps, epochs: r.epochs, train_loss: r.finalTrainLoss, val_loss: r.finalValLoss, checkpoint: r.checkpoint,
          seconds: r.seconds, conversations: r.conversations, fill: r.fill,
        })}\n`);
      }
      process.stderr.write(`done: ${r.steps} steps (${r.epochs.toFixed(2)} epochs) in ${r.seconds.toFixed(1)} s, train loss ${r.finalTrainLoss.toFixed(4)}` +
        `${r.finalValLoss !== null ? `, val loss ${r.finalValLoss.toFixed(4)}` : ''}; checkpoint ${r.checkpoint}\n` +
        `try: llmforge chat --model ${o.out}\n`);
    });
}
