/** `llmforge finetune` (LoRA or full fine-tuning on a domain) and `llmforge lora merge`. */
import { type Command, InvalidArgumentError } from 'commander';
import { finetune, dataKind, type FinetuneMethod, type FinetuneSummary } from '../finetune/index.js';
import { parseLoraTargets, type LoraConfig } from '../nn/lora.js';
import { loadModelWithAdapter, mergeAdapters, readCheckpointConfig, resolveCheckpoint, saveCheckpoint, readTokenizerJson } from '../model/index.js';
import { hfConfig } from '../model/hf-config.js';
import { openResume } from '../train/index.js';
import { applyThreads, intArg, numberArg } from './options.js';
import { sftConfigFromOptions, type SftFlags } from './sft.js';
import { configFromOptions } from './train.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FinetuneFlags extends SftFlags {
  method: FinetuneMethod;
  rank: number;
  alpha: number;
  dropout: number;
  targets: string;
}

/** LoRA's learning rate is higher than full fine-tuning's: the adapters start at zero and are few. */
export const LORA_LR = 1e-3;

function methodArg(v: string): FinetuneMethod {
  if (v !== 'lora' && v !== 'full') throw new InvalidArgumentError(`expected lora or full, got '${v}'`);
  return v;
}

export function registerFinetune(program: Command): void {
  program
    .command('finetune')
    .description('fine-tune a checkpoint on your domain: LoRA adapters (PEFT format) or all weights; chat JSONL (assistant-only loss) or a prepared data folder (next-token loss)')
    .option('--init-from <model>', 'the model to fine-tune: run folder or checkpoint (required unless --resume)')
    .option('--data <path...>', 'chat JSONL files/folders/globs (.jsonl.gz too), or one prepared data folder (llmforge data prepare)')
    .option('--val-data <path...>', 'held-out chat conversations for the val loss (chat data; default: 2% of --data)')
    .requiredOption('--out <dir>', 'run folder: checkpoints, metrics.jsonl, plots; LoRA runs also adapter/ (PEFT adapter_config.json + adapter_model.safetensors)')
    .option('--method <m>', 'lora (frozen base, trained adapters) or full (every weight)', methodArg, 'lora')
    .option('--rank <r>', 'LoRA rank', intArg(1, 4096), 8)
    .option('--alpha <a>', 'LoRA alpha (the update is scaled by alpha/rank)', numberArg(1e-6, 1e6), 16)
    .option('--dropout <p>', 'dropout on the adapters\' input while training', numberArg(0, 0.99), 0.05)
    .option('--targets <list>', 'adapted layers: attn, mlp, all, or a comma list of q,k,v,o,gate,up,down (gpt2: q,k,v together — its c_attn)', 'attn')
    .option('--epochs <n>', 'passes over chat data (default 3)', numberArg(0.001, 1e6))
    .option('--max-steps <n>', 'optimizer steps', intArg(1))
    .option('--max-minutes <m>', 'stop after this much wall time', numberArg(0.001))
    .option('--lr <x>', `peak learning rate (default: ${LORA_LR} for lora, SFT's 5e-4 for full on chat data, pretraining's on a data folder)`, numberArg(1e-8, 1))
    .option('--warmup-steps <n>', 'learning-rate warmup steps', intArg(0))
    .option('--batch <n>', 'rows per micro-batch', intArg(1))
    .option('--config <file>', 'config JSON (chat data: the sft config; a data folder: the train config); flags override it')
    .option('--resume', 'continue the run in --out from its latest checkpoint (its saved settings)')
    .option('--seed <n>', 'random seed (data order, adapter init, dropout)', intArg(0))
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--save-every <n>', 'checkpoint every n steps (0: only at the end)', intArg(0))
    .option('--eval-every <n>', 'evaluate every n steps (0: only at the end)', intArg(0))
    .option('--skip-bad-lines', 'count and skip malformed JSONL lines instead of stopping')
    .option('--json', 'print a JSON summary on stdout at the end')
    .action(async (o: FinetuneFlags, command: Command) => {
      const given = (name: string): boolean => command.getOptionValueSource(name) === 'cli';
      const { summary: r, method, initFrom } = await finetuneWithFlags(o, given);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({
          command: 'finetune', method, data: r.kind, steps: r.steps, train_loss: r.finalTrainLoss, val_loss: r.finalValLoss, checkpoint: r.checkpoint,
          adapter: r.adapter, trainable_params: r.trainableParams, optimizer_bytes: r.optimizerBytes, seconds: r.seconds,
        })}\n`);
      }
      process.stderr.write(`done: ${r.steps} steps in ${r.seconds.toFixed(1)} s, train loss ${r.finalTrainLoss.toFixed(4)}` +
        `${r.finalValLoss !== null ? `, val loss ${r.finalValLoss.toFixed(4)}` : ''}; ${(r.trainableParams / 1e6).toFixed(3)}M trainable parameters; ` +
        `${r.adapter !== null ? `adapter ${r.adapter}\ntry: llmforge chat --model ${initFrom} --adapter ${r.adapter}` : `checkpoint ${r.checkpoint}\ntry: llmforge chat --model ${o.out}`}\n`);
    });

  program
    .command('lora')
    .description('LoRA adapters')
    .command('merge')
    .description('fold a LoRA adapter into its base model: W += (alpha/r)·B·A, written as a plain checkpoint')
    .requiredOption('--model <dir>', 'the base model (run folder or checkpoint)')
    .requiredOption('--adapter <dir>', 'PEFT adapter folder (or a finetune --method lora run folder)')
    .requiredOption('--out <dir>', 'run folder for the merged model (checkpoints/merged, with the base\'s tokenizer files)')
    .action((o: { model: string; adapter: string; out: string }) => {
      if (existsSync(join(o.out, 'latest'))) throw new Error(`--out ${o.out}: already holds a run; choose another folder`);
      const { checkpoint, adapters, base } = mergeLora(o.model, o.adapter, o.out);
      process.stderr.write(`merged ${adapters} adapters into ${base}: ${checkpoint}\n`);
    });
}

/**
 * `llmforge finetune`'s work for its flags (also the pipeline's finetune stage): checks them, reads
 * a resumed run's own settings, builds the SFT or train config, and runs finetune(). `given` says
 * which flags were typed (LoRA flags are refused with --method full or --resume).
 */
export async function finetuneWithFlags(o: FinetuneFlags, given: (name: string) => boolean, log?: (line: string) => void):
Promise<{ summary: FinetuneSummary; method: FinetuneMethod; initFrom: string }> {
  if (o.method === 'full' || o.resume) {
    const lora = ['rank', 'alpha', 'dropout', 'targets'].filter(given).map((n) => `--${n}`);
    if (lora.length > 0) throw new Error(`${lora.join(', ')}: ${o.resume ? 'a resumed run keeps its saved LoRA settings' : 'LoRA settings do not apply to --method full'}`);
  }
  if (o.epochs !== undefined && o.maxSteps !== undefined) throw new Error('--epochs and --max-steps cannot be combined: choose one');
  if (o.data === undefined) throw new Error('--data is required: chat JSONL or a prepared data folder');
  let initFrom = o.initFrom;
  let method = o.method;
  let lora: LoraConfig | undefined;
  if (o.resume) {
    // The run's own settings: its base and its adapters.
    const { state } = openResume(o.out);
    if (state.stage !== 'finetune') throw new Error(`--resume: ${o.out} is not a finetune run (stage ${String(state.stage)})`);
    if (o.initFrom !== undefined && o.initFrom !== state.init_from) throw new Error(`--init-from: ${o.out} was fine-tuned from ${String(state.init_from)}`);
    initFrom = String(state.init_from);
    lora = (state.lora ?? undefined) as LoraConfig | undefined;
    method = lora ? 'lora' : 'full';
  } else {
    if (initFrom === undefined) throw new Error('--init-from is required: the model to fine-tune');
    let family;
    try {
      family = readCheckpointConfig(resolveCheckpoint(initFrom)).family;
    } catch (err) {
      throw new Error(`--init-from ${initFrom}: ${(err as Error).message}`);
    }
    if (method === 'lora') {
      lora = { rank: o.rank, alpha: o.alpha, dropout: o.dropout, targets: parseLoraTargets(o.targets, family), seed: o.seed ?? 1337 };
    }
  }
  const kind = dataKind(o.data);
  const flags = { ...o, lr: o.lr ?? (method === 'lora' && !o.resume ? LORA_LR : undefined) };
  let chatConfig;
  let trainConfig;
  if (kind === 'chat') {
    chatConfig = sftConfigFromOptions(flags, 'finetune');
    applyThreads(chatConfig.threads);
  } else {
    if (o.epochs !== undefined) throw new Error('--epochs applies to chat data; give --max-steps for a data folder');
    const { lr, batch, maxSteps, maxMinutes, warmupSteps, seed, threads, saveEvery, evalEvery, config } = flags;
    trainConfig = o.resume ? undefined : configFromOptions({ data: o.data[0], out: o.out, lr, batch, maxSteps, maxMinutes, warmupSteps, seed, threads, saveEvery, evalEvery, config });
    applyThreads(trainConfig?.threads ?? o.threads);
  }
  const r = await finetune({
    initFrom, data: o.data, valData: o.valData, outDir: o.out, method, lora, chatConfig, trainConfig, resume: o.resume, skipBadLines: o.skipBadLines, log,
  });
  return { summary: r, method, initFrom };
}

/** Folds an adapter into its base and writes the result as run folder `out` (checkpoint `merged`, with the base's tokenizer files). */
export function mergeLora(modelPath: string, adapterPath: string, out: string): { checkpoint: string; adapters: number; base: string } {
  const { model, dir } = loadModelWithAdapter(modelPath, adapterPath);
  const merged = mergeAdapters(model);
  const files: Record<string, string> = {};
  const tc = join(dir, 'tokenizer_config.json');
  if (existsSync(tc)) files['tokenizer_config.json'] = readFileSync(tc, 'utf8');
  const checkpoint = saveCheckpoint(out, 'merged', { model: merged, config: hfConfig(merged.config), tokenizerJson: readTokenizerJson(dir), files });
  return { checkpoint, adapters: model.adapters.length, base: dir };
}
