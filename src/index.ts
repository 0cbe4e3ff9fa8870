/**
 * llmforge as a library: `import { trainTokenizer, prepare, train, loadModel, … } from 'llmforge'`.
 * Each stage's main functions and types, in the order of the flow; the CLI is built on exactly these.
 */

// Tokenizer (stage 2): train, load, encode/decode.
export {
  trainTokenizer, loadTokenizer, tokenizerFromHfJson, tokenizerFromTiktoken, tokenizerFromGpt2Files, BpeTokenizer, TokenizerFileError,
  DEFAULT_SPECIAL_TOKENS, GPT2_PATTERN, GPT4_PATTERN,
  type Tokenizer, type EncodeOptions, type TrainOptions as TokenizerTrainOptions, type LoadOptions as TokenizerLoadOptions,
} from './tokenizer/index.js';

// Data (stage 1): raw text → token shards, and the loader.
export {
  prepare, readManifest, TokenLoader, DataError, PREPARE_DEFAULTS,
  type PrepareOptions, type PrepareResult, type Manifest, type LoaderOptions, type LoaderPosition,
} from './data/index.js';

// Models: the GPT, its config and presets.
export { GPT, type GPTOptions } from './nn/gpt.js';
export { ParameterStore, type ParamGroup } from './nn/parameters.js';
export { PRESETS, PRESET_NAMES, preset, parseConfig, type GPTConfig, type PresetName } from './nn/config.js';

// Model I/O: checkpoints by parameter name (strict or partial), the HF config mapping.
export {
  saveCheckpoint, loadModel, loadCheckpointWeights, resolveCheckpoint, readCheckpointConfig, readConfigJson, loadOptimizerState,
  readTokenizerJson, listCheckpoints, configHash, hfConfig, loadWeights, weightTensors,
  type CheckpointFiles, type LoadOptions, type LoadReport, type WeightSelection,
} from './model/index.js';

// Training (stage 3 and every later training stage): the pretraining preset and the shared loop.
export {
  train, runLoop, nextTokenObjective, ObjectiveStep, TrainStep, TokenBatchSource, valLossEvaluator, sampleEvaluator, evalLoss,
  openResume, parseTrainConfig, readTrainConfig, benchTrain,
  type TrainOptions, type TrainSummary, type TrainConfig, type LoopOptions, type LoopSummary, type CheckpointSpec, type TrainerState,
  type Objective, type ObjectiveResult, type BatchSource, type Evaluator, type EvalResult, type MicroBatch, type StepResult, type OpenedRun,
} from './train/index.js';
export { AdamW, ADAMW_DEFAULTS, type AdamWOptions } from './optim/adamw.js';
export { learningRate, fitWarmup, type Schedule, type ScheduleKind } from './optim/schedule.js';

// Generation.
export {
  InferenceEngine, Generation, generate, generateOptions, sampleTexts, loadForGeneration, Sampler, SAMPLING_DEFAULTS, GENERATE_DEFAULTS,
  type EngineOptions, type GenerateOptions, type SamplingOptions, type SequenceResult, type FinishReason, type LoadedModel,
} from './infer/index.js';

// Alignment: supervised fine-tuning on chat conversations, and the chat format it trains.
export { sft, parseSftConfig, SFT_DEFAULTS, SftBatchSource, type SftConfig, type SftOptions, type SftSummary } from './align/index.js';
export {
  dpo, parseDpoConfig, rewardTrain, parseRewardConfig, loadRewardModel, scoreReplies, bestOfN, prefsGenerate, readPreferencePairs,
  type DpoConfig, type DpoOptions, type DpoSummary, type RewardConfig, type RewardModel, type PreferencePair, type PrefsSummary,
} from './align/index.js';
export { renderChat, chatTokens, tokenizerConfig, writeTokenizerConfig, CHAT_TEMPLATE, type ChatMessage, type ChatRole, type RenderedChat } from './model/chat.js';

// Evaluation: the chat suite and the base suite.
export { evalChat, evalBase, isCorrect, isRefusal, normalise, type ChatEvalReport, type BaseEvalReport, type ExampleVerdict } from './eval/index.js';

// Fine-tuning: LoRA or full, on chat JSONL or a data folder; LoRA adapters and PEFT adapter folders.
export { finetune, dataKind, type FinetuneOptions, type FinetuneSummary, type FinetuneMethod } from './finetune/index.js';
export { LoraAdapter, LORA_ROLES, parseLoraTargets, peftTargetModules, rolesFromPeft, type LoraConfig, type LoraRole } from './nn/lora.js';
export { readAdapter, saveAdapter, loadModelWithAdapter, loadBaseForLora, mergeAdapters, resolveAdapterDir } from './model/adapter.js';

// The whole flow, and the engine's knobs.
export { quickstart, type QuickstartOptions } from './pipeline/quickstart.js';
export { setThreads, getThreads, useBackend, backend, isa } from './tensor/registry.js';
