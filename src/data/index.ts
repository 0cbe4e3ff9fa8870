/** Stage one of the flow: raw text → token shards, and the loader the trainer reads them with. */
export { prepare, findSeparator, SEPARATOR_TOKENS, DEFAULTS as PREPARE_DEFAULTS } from './prepare.js';
export type { PrepareOptions, PrepareResult, PrepareProgress, DedupMode } from './prepare.js';
export { TokenLoader } from './loader.js';
export type { LoaderOptions, LoaderPosition, LoaderMode, Split } from './loader.js';
export { readManifest, checkDatasetTokenizer, MANIFEST_FILE, TOKENIZER_FILE } from './manifest.js';
export type { Manifest, ManifestShard, ManifestSource } from './manifest.js';
export { readShardHeader, readShardTokens, verifyShard, SHARD_MAGIC, SHARD_VERSION, HEADER_BYTES } from './shard.js';
export type { ShardHeader, ShardExpectation, TokenDtype } from './shard.js';
export { DataError, SkipSource } from './errors.js';
// Input discovery and the binary test are shared with `tokenizer train` (src/tokenizer/input.ts).
export { discoverInputs, warnLeftOut } from './discover.js';
export type { Discovery, SourceFile } from './discover.js';
export { sniffBinary } from './clean.js';
export { readChatExamples, parseChatRecord } from './chat-jsonl.js';
export { readJsonlRecords, LineError, describeJson, type JsonlOptions } from './jsonl.js';
export { CHAT_TASKS, chatTaskKind, type ChatTaskKind } from './chat-tasks.js';
export type { ChatExample, ReadChatOptions } from './chat-jsonl.js';
