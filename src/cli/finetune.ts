/** `llmforge finetune` (LoRA or full fine-tuning on a domain) and `llmforge lora merge`. */
import { type Command, InvalidArgumentError } from 'commander';
import { finetuneWithFlags, mergeLora, LORA_LR, type FinetuneFlags, type FinetuneMethod } from '../finetune/index.js';
import { intArg, numberArg } from './options.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

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
