/**
 * `llmforge finetune`'s options into a run (checked, a resumed run's own settings read, the SFT or
 * train config built) and `llmforge lora merge`'s fold. Shared by the CLI and the pipeline's
 * finetune stage, so the errors name the CLI flags.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sftConfigFromOptions, type SftFlags } from '../align/index.js';
import { configFromOptions, openResume } from '../train/index.js';
import { loadModelWithAdapter, mergeAdapters, readCheckpointConfig, resolveCheckpoint, saveCheckpoint, readTokenizerJson } from '../model/index.js';
import { hfConfig } from '../model/hf-config.js';
import { parseLoraTargets, type LoraConfig } from '../nn/lora.js';
import { applyThreads } from '../tensor/registry.js';
import { finetune, dataKind, type FinetuneMethod, type FinetuneSummary } from './finetune.js';

export interface FinetuneFlags extends SftFlags {
  method: FinetuneMethod;
  rank: number;
  alpha: number;
  dropout: number;
  targets: string;
}

/** LoRA's learning rate is higher than full fine-tuning's: the adapters start at zero and are few. */
export const LORA_LR = 1e-3;

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
