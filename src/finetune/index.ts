/** Fine-tuning (LoRA or full) of any checkpoint on a domain: `llmforge finetune`, `llmforge lora merge`. */
export { finetune, dataKind, type FinetuneOptions, type FinetuneSummary, type FinetuneMethod } from './finetune.js';
export { finetuneWithFlags, mergeLora, LORA_LR, type FinetuneFlags } from './flags.js';
