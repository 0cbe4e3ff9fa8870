/** Interop: Hugging Face folders and GGUF files out, Hugging Face checkpoints in (docs/INTEROP.md). */
export { exportHf, chatTemplateFor, type HfExportResult } from './hf-export.js';
export { exportGguf, type GgufDtype, type GgufExportResult } from './gguf-export.js';
export type { HfDtype } from './hf-files.js';
export { importHf, type ImportResult } from './import.js';
export { modelForExport, writeKeptAdapter } from './adapter.js';
