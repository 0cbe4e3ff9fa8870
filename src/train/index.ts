/** Stage three of the flow, and the trainer every later training stage shares: one loop, many objectives. */
export { train, resolveModelConfig, resumedConfig, stepPlan, adamwFor, scheduleFor, type TrainOptions, type TrainSummary } from './trainer.js';
export { TrainConfigSchema, parseTrainConfig, readTrainConfig, formatZodError, mergeConfig, parseStageConfig, readConfigFile, type TrainConfig } from './config.js';
export { configFromOptions, resumeConfigFromOptions, type TrainFlags } from './flags.js';
export { runLoop, checkpointName, type LoopOptions, type LoopSummary, type CheckpointSpec, type TrainerState } from './loop.js';
export {
  nextTokenObjective, epochPosition, type Objective, type ObjectiveResult, type BatchSource, type Evaluator, type EvalResult, type MicroBatch,
} from './objective.js';
export { ObjectiveStep, TrainStep, type StepResult } from './step.js';
export { TokenBatchSource, evalLoss, valLossEvaluator, sampleEvaluator } from './pretrain.js';
export {
  openResume, checkpointProblem, readTrainerState, readSavedConfig, applyResumeFlags, configDiff, type OpenedRun, type ResumeFlag,
} from './resume.js';
export { MetricsLog, type MetricRecord, type StepRecord, type EvalRecord } from './metrics.js';
export { benchTrain, type TrainBenchOptions, type TrainBenchResult } from './bench.js';
export { mfu, peakFlops } from './flops.js';
export { lineChartSvg, type Series } from './plot.js';
