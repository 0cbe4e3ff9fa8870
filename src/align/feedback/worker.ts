/**
 * The generation thread of `feedback serve`: it owns the model(s), so a reply being sampled
 * never blocks the HTTP event loop. Requests are handled one at a time, in arrival order
 * (the main thread's queue decides that order).
 *
 * One model: both candidates come from one batched generation of two sequences (different
 * seed streams: sequenceSeed(seed, 0) and (seed, 1)). Two models: each writes one reply with
 * the same seed. Prompts are rendered with the chat template and replies stop at <|end|>
 * (or a role token, or an end-of-text token).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceEngine, Generation, loadForGeneration, type LoadedModel } from '../../infer/index.js';
import { chatTokens, renderChat, type ChatMessage } from '../../model/chat.js';
import { setThreads } from '../../tensor/registry.js';
import type { FromWorker, Reply, ToWorker, WorkerInit } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('the feedback worker must run in a worker thread');
const send = (m: FromWorker): void => port.postMessage(m);

interface Loaded {
  loaded: LoadedModel;
  engine: InferenceEngine;
  stopTokens: number[];
}

async function load(path: string, batch: number): Promise<Loaded> {
  try {
    const loaded = await loadForGeneration(path);
    // A reply ends at <|end|>; a role token would start another turn, so it ends the reply too.
    const c = chatTokens(loaded.tokenizer);
    const stopTokens = [...new Set([c.end, c.user, c.assistant, c.system, ...loaded.endTokens])];
    return { loaded, engine: new InferenceEngine(loaded.model, { maxBatch: batch }), stopTokens };
  } catch (err) {
    throw new Error(`--model ${path}: ${(err as Error).message}`);
  }
}

function promptIds(m: Loaded, messages: ChatMessage[]): number[] {
  return renderChat(m.loaded.tokenizer, messages, { addGenerationPrompt: true }).ids;
}

function run(m: Loaded, prompts: number[][], seed: number): Reply[] {
  const g = new Generation(m.engine, prompts, { ...init.sampling, seed, stopTokens: m.stopTokens, contextOverflow: 'stop' }, {
    tokenizer: m.loaded.tokenizer,
  });
  return g.run().map((r, i) => ({ text: r.text, model: m.loaded.dir, seed, sample: i, finishReason: r.finishReason, tokens: r.tokens.length }));
}

function pair(models: Loaded[], messages: ChatMessage[], seed: number): [Reply, Reply] {
  if (models.length === 1) {
    const ids = promptIds(models[0], messages);
    const [a, b] = run(models[0], [ids, ids], seed);
    return [a, b];
  }
  return [run(models[0], [promptIds(models[0], messages)], seed)[0], run(models[1], [promptIds(models[1], messages)], seed)[0]];
}

/** Every prompt must leave room for a reply in every model's context. */
function check(models: Loaded[], prompts: Array<{ source: string; messages: ChatMessage[] }>): void {
  for (const p of prompts) {
    for (const m of models) {
      const n = promptIds(m, p.messages).length;
      const ctx = m.engine.capacity;
      if (n >= ctx) {
        throw new Error(`${p.source}: the prompt is ${n} tokens in the chat format, leaving no room for a reply in the ` +
          `context of ${ctx} tokens of ${m.loaded.dir}`);
      }
    }
  }
}

async function main(): Promise<void> {
  let models: Loaded[];
  try {
    if (init.threads !== null) setThreads(init.threads, `--threads ${init.threads}`);
    const batch = init.models.length === 1 ? 2 : 1;
    models = [];
    for (const path of init.models) models.push(await load(path, batch));
  } catch (err) {
    send({ type: 'fatal', message: (err as Error).message });
    return;
  }
  port?.on('message', (msg: ToWorker) => {
    try {
      if (msg.type === 'check') {
        check(models, msg.prompts);
        send({ type: 'checked', id: msg.id });
      } else {
        send({ type: 'pair', id: msg.id, replies: pair(models, msg.messages, msg.seed) });
      }
    } catch (err) {
      send({ type: 'error', id: msg.id, message: (err as Error).message });
    }
  });
  send({ type: 'ready', models: models.map((m) => m.loaded.dir) });
}

void main();
