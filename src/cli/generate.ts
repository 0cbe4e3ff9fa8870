/** `llmforge generate`: text from a checkpoint, streamed token by token (the last stage of the flow). */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { InferenceEngine } from '../infer/engine.js';
import { Generation, GENERATE_DEFAULTS, type ContextOverflow, type GenerateOptions } from '../infer/generate.js';
import { SAMPLING_DEFAULTS } from '../infer/sampler.js';
import { encodePrompt, loadForGeneration, type LoadedModel } from '../infer/load.js';
import { chatPromptIds, chatStopTokens } from '../infer/chat.js';
import { backend } from '../tensor/registry.js';
import { exitIfStdoutClosed } from '../util/stdout.js';
import { decodeUtf8Warn } from '../util/utf8-watch.js';
import { applyConfigFile } from './data.js';
import { bestOfN, loadRewardModel } from '../align/index.js';
import { applyThreads, intArg, numberArg } from './options.js';

/** Options shared by generate and chat. */
export interface SamplingCliOptions {
  model?: string;
  tokenizer?: string;
  adapter?: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  stop?: string[];
  stopToken?: string[];
  ignoreEos?: boolean;
  seed?: number;
  cache: boolean;
  contextOverflow: ContextOverflow;
  bos: boolean;
  threads?: number;
  config?: string;
}

function topPArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${value}'`);
  if (n <= 0 || n > 1) throw new InvalidArgumentError(`must be in (0, 1], got ${n}`);
  return n;
}

function overflowArg(value: string): ContextOverflow {
  if (value !== 'stop' && value !== 'slide') throw new InvalidArgumentError(`expected stop or slide, got '${value}'`);
  return value;
}

/** Backslash escapes in stop strings: \n, \t, \r, \\ (a shell cannot easily pass a newline). */
export function unescapeStop(s: string): string {
  return s.replace(/\\(.)/g, (m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c === '\\' ? '\\' : m));
}

/** The model, tokenizer and sampling flags of generate and chat. */
export function addSamplingOptions(cmd: Command, defaults: { maxTokens: number; overflow: ContextOverflow }): Command {
  return cmd
    .option('--model <dir>', 'run folder (its latest checkpoint) or checkpoint folder (required)')
    .option('--tokenizer <path>', 'tokenizer file (default: tokenizer.json in the checkpoint)')
    .option('--adapter <dir>', 'apply a LoRA adapter (PEFT folder, or a finetune run) unmerged')
    .option('--max-tokens <n>', 'new tokens at most', intArg(1), defaults.maxTokens)
    .option('--temperature <t>', 'sampling temperature, 0 = greedy', numberArg(0, 1e6), SAMPLING_DEFAULTS.temperature)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', intArg(0), SAMPLING_DEFAULTS.topK)
    .option('--top-p <p>', 'nucleus: keep the most likely tokens up to this mass, in (0, 1] (1 = off)', topPArg, SAMPLING_DEFAULTS.topP)
    .option('--min-p <p>', 'drop tokens below p × the top probability, in [0, 1] (0 = off)', numberArg(0, 1), SAMPLING_DEFAULTS.minP)
    .option('--repetition-penalty <r>', 'penalize tokens already in the text, > 0 (1 = off)', numberArg(Number.MIN_VALUE, 1e6), SAMPLING_DEFAULTS.repetitionPenalty)
    .option('--stop <str...>', 'stop when this text appears (not printed; \\n and \\t understood)')
    .option('--stop-token <id...>', 'also stop at these token ids or special-token names')
    .option('--ignore-eos', 'do not stop at end-of-text / document-separator tokens')
    .option('--seed <n>', 'random seed (default: random; printed with --json)', intArg(0, 2 ** 32 - 1))
    .option('--no-cache', 'recompute the full forward for every token (slow; for checking)')
    .option('--context-overflow <mode>', 'at the context limit: stop, or slide the window', overflowArg, defaults.overflow)
    .option('--no-bos', 'do not start the prompt with the document-start token')
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--config <file>', 'JSON file with any of these options (camelCase or flag names); flags override it');
}

/** Stop-token flags → ids (numbers, or special-token names of the tokenizer). */
function stopTokenIds(values: readonly string[] | undefined, loaded: LoadedModel): number[] {
  const V = loaded.model.config.vocabSize;
  return (values ?? []).map((v) => {
    if (/^\d+$/.test(v)) {
      const id = Number(v);
      if (id >= V) throw new Error(`--stop-token ${v}: outside the model's vocabulary (0..${V - 1})`);
      return id;
    }
    const id = loaded.tokenizer.specialTokens.get(v);
    if (id === undefined) {
      throw new Error(`--stop-token '${v}': not an id nor a special token of the tokenizer (${[...loaded.tokenizer.specialTokens.keys()].join(', ') || 'none'})`);
    }
    return id;
  });
}

/**
 * Generation options from the shared flags (seed drawn at random when not given). With
 * `chat`, the reply also ends at <|end|> and at any role token (the turn is over).
 */
export function generationFromFlags(o: SamplingCliOptions, loaded: LoadedModel, chat = false): GenerateOptions {
  const stop = (o.stop ?? []).map(unescapeStop);
  for (const s of stop) if (s.length === 0) throw new Error('--stop: stop strings must not be empty');
  const ends = o.ignoreEos ? [] : [...loaded.endTokens, ...(chat ? chatStopTokens(loaded.tokenizer) : [])];
  const stopTokens = [...ends, ...stopTokenIds(o.stopToken, loaded)];
  return {
    ...GENERATE_DEFAULTS,
    maxNewTokens: o.maxTokens,
    temperature: o.temperature,
    topK: o.topK,
    topP: o.topP,
    minP: o.minP,
    repetitionPenalty: o.repetitionPenalty,
    seed: o.seed ?? randomInt(0, 2 ** 32 - 1),
    stop,
    stopTokens: [...new Set(stopTokens)],
    contextOverflow: o.contextOverflow,
    useCache: o.cache,
  };
}

/** --model is checked after --config is applied (it may come from the file). */
export function requireModel(o: { model?: string }): string {
  if (o.model === undefined) throw new Error('--model is required: a run folder or a checkpoint folder');
  return o.model;
}

interface GenerateCliOptions extends SamplingCliOptions {
  prompt?: string[];
  chat?: boolean;
  system?: string;
  samples: number;
  bestOf?: number;
  rewardModel?: string;
  echo?: boolean;
  json?: boolean;
}

function readPrompt(p: string): string {
  if (p !== '-') return p;
  try {
    const text = decodeUtf8Warn(readFileSync(0), (m) => process.stderr.write(`llmforge: warning: ${m}\n`));
    return text.replace(/\r?\n$/, ''); // the newline echo adds
  } catch (err) {
    throw new Error(`--prompt -: cannot read stdin (${(err as Error).message})`);
  }
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

/** --chat on a tokenizer without the chat tokens: one error naming the checkpoint. */
function chatTokensOf(loaded: LoadedModel): void {
  try {
    chatStopTokens(loaded.tokenizer);
  } catch (err) {
    throw new Error(`--chat: ${loaded.dir}: ${(err as Error).message}`);
  }
}

export function registerGenerate(program: Command): void {
  const cmd = program
    .command('generate')
    .description('generate text from a checkpoint (streams to stdout; --json for one object per sequence)')
    .option('--prompt <text...>', 'prompt text (required; several: generated together as a batch; - reads stdin)');
  addSamplingOptions(cmd, { maxTokens: GENERATE_DEFAULTS.maxNewTokens, overflow: 'stop' })
    .option('--samples <n>', 'sequences per prompt (each with its own seed stream), generated as one batch', intArg(1, 256), 1)
    .option('--best-of <n>', 'sample n replies per prompt and keep the one the --reward-model scores highest', intArg(2, 256))
    .option('--reward-model <dir>', 'reward model (llmforge reward train) that ranks the --best-of samples')
    .option('--chat', 'use the chat template: each prompt is a user turn, the reply ends at <|end|>')
    .option('--system <text>', 'system prompt (with --chat)')
    .option('--echo', 'print the prompt before the generated text')
    .option('--json', 'print one JSON object per sequence on stdout')
    .action(async (o: GenerateCliOptions, command: Command) => {
      if (o.config) applyConfigFile(command, o.config);
      o = command.opts<GenerateCliOptions>();
      const modelPath = requireModel(o);
      if (o.prompt === undefined) throw new Error('--prompt is required');
      const texts = o.prompt.map(readPrompt);
      texts.forEach((t, i) => {
        if (t.length === 0) throw new Error(`--prompt${texts.length > 1 ? ` ${i + 1}` : ''}: the prompt is empty`);
      });
      if (o.system !== undefined && !o.chat) throw new Error('--system needs --chat');
      if (o.chat && !o.bos) throw new Error('--no-bos cannot be combined with --chat (the template starts with <|bos|>)');
      if ((o.bestOf === undefined) !== (o.rewardModel === undefined)) throw new Error('--best-of and --reward-model go together: n samples, ranked by the reward model');
      if (o.bestOf !== undefined && o.samples !== 1) throw new Error('--best-of cannot be combined with --samples: it keeps one reply per prompt');
      const threads = applyThreads(o.threads);
      const loaded = await loadForGeneration(modelPath, o.tokenizer, undefined, o.adapter);
      if (o.chat) chatTokensOf(loaded);
      const opts = generationFromFlags(o, loaded, o.chat === true);
      const ctx = loaded.model.config.contextLength;
      const prompts: number[][] = [];
      const promptText: string[] = [];
      for (const [i, t] of texts.entries()) {
        const ids = o.chat ? chatPromptIds(loaded.tokenizer, t, o.system) : encodePrompt(loaded.tokenizer, t, loaded.documentStart, o.bos);
        if (ids.length > ctx) {
          throw new Error(`--prompt${texts.length > 1 ? ` ${i + 1}` : ''}: ${ids.length} tokens, more than the model's context length ${ctx}`);
        }
        for (let s = 0; s < (o.bestOf ?? o.samples); s++) {
          prompts.push(ids);
          promptText.push(t);
        }
      }
      const engine = new InferenceEngine(loaded.model, { maxBatch: prompts.length });
      const single = prompts.length === 1 && o.bestOf === undefined;
      const out = process.stdout;
      if (!o.json && o.echo && single) out.write(promptText[0]);
      const g = new Generation(engine, prompts, opts, {
        tokenizer: loaded.tokenizer,
        onText: !o.json && single ? (_, text) => {
          exitIfStdoutClosed(); // `| head`: stop generating for a reader that is gone
          out.write(text);
        } : undefined,
      });
      let results = g.run();
      let rewards: number[] | null = null;
      if (o.bestOf !== undefined && o.rewardModel !== undefined) {
        const rm = await loadRewardModel(o.rewardModel);
        const n = o.bestOf;
        const kept = bestOfN(rm, results.map((r, i) => ({
          prompt: promptText[i], text: r.text, chat: o.chat === true, system: o.system, bos: o.bos,
        })), n);
        results = kept.map((k) => results[k.index]);
        rewards = kept.map((k) => k.reward);
        promptText.splice(0, promptText.length, ...kept.map((k) => promptText[k.index]));
        process.stderr.write(`best of ${n}: kept the highest of ${n} reward-model scores per prompt (${rm.dir})\n`);
      }
      const s = g.stats;
      const prefillRate = s.prefillMs > 0 ? (s.prefillTokens / s.prefillMs) * 1000 : 0;
      const decodeRate = s.decodeMs > 0 ? (s.decodeTokens / s.decodeMs) * 1000 : 0;
      results.forEach((r, i) => {
        if (o.json) {
          out.write(`${JSON.stringify({
            index: i, prompt: promptText[i], ...(o.chat ? { system: o.system ?? null } : {}), text: r.text, tokens: r.tokens,
            ...(rewards !== null ? { reward: rewards[i], best_of: o.bestOf } : {}),
            // A chat reply either closed its turn or ran out of room (OpenAI's 'length' covers both limits).
            finish_reason: o.chat && r.finishReason === 'context' ? 'length' : r.finishReason,
            prompt_tokens: r.promptTokens, completion_tokens: r.tokens.length, slides: r.slides,
            seed: opts.seed, cache: opts.useCache, prefill_tokens_per_s: round(prefillRate), decode_tokens_per_s: round(decodeRate),
          })}\n`);
        } else if (single) {
          out.write('\n');
        } else if (rewards !== null && results.length === 1) {
          out.write(`${o.echo ? promptText[i] : ''}${r.text}\n`);
        } else {
          out.write(`--- ${i + 1}/${results.length} (${r.finishReason})\n${o.echo ? promptText[i] : ''}${r.text}\n`);
        }
      });
      const ctxStops = results.filter((r) => r.finishReason === 'context').length;
      if (ctxStops > 0) {
        process.stderr.write(`llmforge: stopped at the context limit (${ctx} tokens)${results.length > 1 ? ` in ${ctxStops} of ${results.length} sequences` : ''}; ` +
          '--context-overflow slide keeps going with a sliding window\n');
      }
      if (!o.json) {
        const gen = results.reduce((n, r) => n + r.tokens.length, 0);
        process.stderr.write(`[${gen} tokens; prefill ${round(prefillRate)} tok/s, decode ${round(decodeRate)} tok/s; ` +
          `${opts.useCache ? 'KV cache' : 'no cache'}, ${backend()} kernels, ${threads} threads; seed ${opts.seed}]\n`);
      }
    });
}
