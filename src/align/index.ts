/** Alignment, stage four of the flow: supervised fine-tuning on chat conversations, then preferences — rule-made pairs, DPO / IPO, a reward model and best-of-N. */
export {
  sft, parseSftConfig, readSavedSftConfig, SftConfigSchema, SFT_DEFAULTS,
  type SftConfig, type SftOptions, type SftSummary,
} from './sft.js';
export { sftConfigFromOptions, commonFlags, configFromFlags, type SftFlags, type PrefTrainOpts } from './flags.js';
export { SftBatchSource, epochPlan, type SftPosition } from './sft-data.js';
export {
  dpo, parseDpoConfig, dpoObjective, sequenceLogProbs, rewardStats, DpoConfigSchema, DPO_DEFAULTS, REFERENCE_FILE,
  type DpoConfig, type DpoOptions, type DpoSummary,
} from './dpo.js';
export {
  rewardTrain, parseRewardConfig, loadRewardModel, scoreReplies, scoreSequences, sequenceScores, rewardGPT, bradleyTerryObjective,
  RewardConfigSchema, REWARD_DEFAULTS, HEAD as REWARD_HEAD,
  type RewardConfig, type RewardModel, type RewardTrainOptions, type RewardSummary,
} from './reward.js';
export { bestOfN, bestOfReplies, type Candidate, type BestOfDecodeOptions } from './best-of.js';
export { prefsGenerate, judgeReply, type PrefsGenerateOptions, type PrefsSummary, type Judged } from './prefs-generate.js';
export { readPreferencePairs, readPrompts, parsePairRecord, parsePromptRecord, type PreferencePair, type PromptRecord } from './prefs-data.js';
export { PairBatchSource, fillPairRows, emptyPairRows, allPairBatches, type PairRows, type PairPosition } from './pair-rows.js';
export { loadPairData, renderReply, type PairData } from './pair-setup.js';
