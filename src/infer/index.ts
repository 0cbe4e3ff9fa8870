/** Generation: the inference engine with its KV cache, sampling, streaming and stop handling. */
export { InferenceEngine, type EngineOptions } from './engine.js';
export { KVCache } from './kv-cache.js';
export { Sampler, samplingOptions, sequenceSeed, SAMPLING_DEFAULTS, type SamplingOptions } from './sampler.js';
export { StreamDecoder, StopMatcher, type ByteDecoder } from './stream.js';
export {
  Generation, generate, generateOptions, slideKeep, GENERATE_DEFAULTS,
  type GenerateOptions, type GenerationInit, type GenerationStats, type SequenceResult, type FinishReason, type ContextOverflow,
} from './generate.js';
export { sampleTexts } from './samples.js';
export { loadForGeneration, type LoadedModel } from './load.js';
export {
  Scheduler, type SchedulerEvent, type ScheduledRequest, type TokenLogprob, type FinishReason as ScheduledFinishReason,
} from './scheduler.js';
