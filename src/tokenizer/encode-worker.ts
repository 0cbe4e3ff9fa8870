/** Worker thread for JavaScript batch encoding (see batch.ts). */
import { parentPort } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './batch.js';
import { tokenizerFromHfJson } from './load.js';
import type { BpeTokenizer } from './tokenizer.js';
import { setNativeTokenizer } from './native.js';

// Workers are the fallback for when the native encoder is not in use: encode in JavaScript here too.
setNativeTokenizer(false);

const loaded = new Map<string, BpeTokenizer>();

parentPort?.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    let tok = loaded.get(req.hash);
    if (!tok) {
      if (req.json === undefined) throw new Error(`tokenizer ${req.hash} was never sent to this worker`);
      tok = tokenizerFromHfJson(JSON.parse(req.json) as Record<string, unknown>, 'tokenizer.json');
      loaded.set(req.hash, tok);
    }
    const allowedSpecial = req.allowedSpecial === undefined || req.allowedSpecial === 'all' ? req.allowedSpecial : new Set(req.allowedSpecial);
    const ids = req.texts.map((t) => tok.encode(t, { allowedSpecial }));
    reply = { id: req.id, ids };
    parentPort?.postMessage(reply, ids.map((a) => a.buffer as ArrayBuffer));
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
    parentPort?.postMessage(reply);
  }
});
