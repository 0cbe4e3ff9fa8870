/** Alignment, stage four of the flow: supervised fine-tuning on chat conversations (DPO and the reward model come next). */
export {
  sft, parseSftConfig, readSavedSftConfig, mergeConfig, SftConfigSchema, SFT_DEFAULTS,
  type SftConfig, type SftOptions, type SftSummary,
} from './sft.js';
export { SftBatchSource, epochPlan, type SftPosition } from './sft-data.js';
