/**
 * Exporting a model fine-tuned with LoRA: either merged (the adapter folded into the base's
 * weights, then exported like any checkpoint), or kept apart — the base exported as a Hugging
 * Face folder and the PEFT adapter beside it in OUT/adapter, for
 * `PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(OUT), OUT + "/adapter")`.
 */
import { join, resolve } from 'node:path';
import type { GPT } from '../nn/gpt.js';
import { loadModel } from '../model/checkpoint.js';
import { loadModelWithAdapter, mergeAdapters, saveAdapter } from '../model/adapter.js';

/** The model to export for `--adapter`: merged into the base, or (keep) the base alone plus the adapted model. */
export function modelForExport(modelPath: string, adapterPath: string | undefined, keep: boolean): { model: GPT; dir: string; adapted: GPT | null } {
  if (adapterPath === undefined) return { ...loadModel(modelPath), adapted: null };
  const { model: adapted, dir } = loadModelWithAdapter(modelPath, adapterPath);
  if (keep) return { model: loadModel(modelPath).model, dir, adapted };
  return { model: mergeAdapters(adapted), dir, adapted: null };
}

/** Writes the adapter of `adapted` as OUT/adapter, naming the exported folder as its base. */
export function writeKeptAdapter(outDir: string, adapted: GPT): string {
  const dir = join(outDir, 'adapter');
  saveAdapter(dir, adapted, resolve(outDir));
  return dir;
}
