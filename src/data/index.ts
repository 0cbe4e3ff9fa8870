/** Stage one of the flow: raw text → token shards, and the loader the trainer reads them with. */
export { prepare, findSeparator, SEPARATOR_TOKENS, DEFAULTS as PREPARE_DEFAULTS } from './prepare.js';
export type { PrepareOptions, PrepareResult, PrepareProgress, DedupMode } from './prepare.js';
export { TokenLoader } from './loader.js';
export type { LoaderOptions, LoaderPosition, LoaderMode, Split } from './loader.js';
export { readManifest, MANIFEST_FILE, TOKENIZER_FILE } from './manifest.js';
export type { Manifest, ManifestShard, ManifestSource } from './manifest.js';
export { readShardHeader, readShardTokens, SHARD_MAGIC, SHARD_VERSION, HEADER_BYTES } from './shard.js';
export type { ShardHeader, TokenDtype } from './shard.js';
export { DataError } from './errors.js';
export { discoverInputs } from './discover.js';
export { readChatExamples, parseChatRecord } from './chat-jsonl.js';
export { CHAT_TASKS, chatTaskKind, type ChatTaskKind } from './chat-tasks.js';
export type { ChatExample, ReadChatOptions } from './chat-jsonl.js';
