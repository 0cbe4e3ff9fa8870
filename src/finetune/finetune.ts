/**
 * Fine-tuning a checkpoint on a user's own domain (`llmforge finetune`): the optional last
 * training stage. It adds nothing to the loop: it picks the stage that matches the data and
 * hands it the model to train.
 *
 *   data                          stage          loss
 *   a prepared data folder        train()        next-token loss on the domain's text
 *   chat JSONL (files, folders)   sft()          assistant tokens only (sft's batch source and objective)
 *
 *   --method full   every weight trains (a fresh AdamW over all of them)
 *   --method lora   the base is frozen (no gradients, no optimizer state); adapters on the
 *                   target linears train; checkpoints hold the adapter and its moments only,
 *                   and RUN/adapter is a PEFT adapter folder (src/model/adapter.ts)
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpointConfig, resolveCheckpoint } from '../model/checkpoint.js';
import type { LoraConfig } from '../nn/lora.js';
import { sft, type SftConfig } from '../align/index.js';
import { train, type TrainConfig } from '../train/index.js';

export type FinetuneMethod = 'lora' | 'full';

export interface FinetuneOptions {
  initFrom: string;
  data: string[];
  valData?: string[];
  outDir: string;
  method: FinetuneMethod;
  /** The adapters (method lora). */
  lora?: LoraConfig;
  /** Chat data: the SFT config; a data folder: the train config (its model section is the base's). */
  chatConfig?: SftConfig;
  trainConfig?: TrainConfig;
  resume?: boolean;
  skipBadLines?: boolean;
  log?: (line: string) => void;
}

export interface FinetuneSummary {
  kind: 'chat' | 'tokens';
  steps: number;
  finalTrainLoss: number;
  finalValLoss: number | null;
  checkpoint: string;
  seconds: number;
  trainableParams: number;
  optimizerBytes: number;
  adapter: string | null;
}

/** A prepared data folder (manifest.json) is domain text; anything else is read as chat JSONL. */
export function dataKind(paths: readonly string[]): 'chat' | 'tokens' {
  const folder = paths.length === 1 && existsSync(paths[0]) && statSync(paths[0]).isDirectory() && existsSync(join(paths[0], 'manifest.json'));
  if (folder) return 'tokens';
  for (const p of paths) {
    if (existsSync(p) && statSync(p).isDirectory() && existsSync(join(p, 'manifest.json'))) {
      throw new Error(`--data ${p}: a prepared data folder must be the only --data (one folder of token shards)`);
    }
  }
  return 'chat';
}

export async function finetune(o: FinetuneOptions): Promise<FinetuneSummary> {
  if (o.method === 'lora' && o.lora === undefined) throw new Error('finetune: --method lora needs the adapter settings');
  const lora = o.method === 'lora' ? o.lora : undefined;
  const kind = dataKind(o.data);
  if (kind === 'chat') {
    if (o.chatConfig === undefined) throw new Error('finetune: chat data needs an SFT config');
    const r = await sft({
      initFrom: o.initFrom, data: o.data, valData: o.valData, outDir: o.outDir, config: o.chatConfig, resume: o.resume,
      skipBadLines: o.skipBadLines, log: o.log, lora, stage: 'finetune',
    });
    return { kind, ...r, finalValLoss: r.finalValLoss };
  }
  if (o.trainConfig === undefined && !o.resume) throw new Error('finetune: a data folder needs a train config');
  if (o.valData !== undefined) throw new Error('--val-data: a prepared data folder brings its own val split');
  const modelConfig = readCheckpointConfig(resolveCheckpoint(o.initFrom));
  const r = await train({
    dataDir: o.data[0], outDir: o.outDir, config: o.trainConfig, resume: o.resume, initFrom: o.resume ? undefined : o.initFrom, lora, stage: 'finetune', log: o.log, modelConfig,
  });
  return { kind, ...r };
}
