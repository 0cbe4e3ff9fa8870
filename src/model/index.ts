/** Model I/O below the stages: checkpoints by parameter name, the HF config mapping, document framing. */
export {
  CHECKPOINTS_DIR, LATEST_FILE, saveCheckpoint, listCheckpoints, resolveCheckpoint, readConfigJson, readCheckpointConfig, configHash,
  loadCheckpointWeights, loadModel, optimizerTensors, loadOptimizerState, readTokenizerJson, type CheckpointFiles,
} from './checkpoint.js';
export { hfConfig } from './hf-config.js';
export { loadWeights, weightTensors, selectedNames, type LoadOptions, type LoadReport, type WeightSelection } from './weights.js';
export { DOCUMENT_START_TOKENS, END_TOKENS, documentStartToken, endTokenIds, encodePrompt } from './framing.js';
export {
  ADAPTER_CONFIG, ADAPTER_WEIGHTS, readAdapter, saveAdapter, resolveAdapterDir, loadBaseForLora, loadModelWithAdapter, mergeAdapters, baseNames,
} from './adapter.js';
