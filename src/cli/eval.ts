/** `llmforge eval`: the chat suite (format, accuracy, refusals, val loss) or the base suite (val loss, bits per byte). */
import { type Command, InvalidArgumentError } from 'commander';
import { readChatExamples } from '../data/chat-jsonl.js';
import { defaultHeldout } from '../eval/index.js';
import { evalBase } from '../eval/base.js';
import { evalChat, type ChatEvalOptions, type ChatEvalReport } from '../eval/chat.js';
import { bestOfReplies, loadRewardModel } from '../align/index.js';
import { loadForGeneration } from '../infer/load.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import { applyConfigFile } from './data.js';
import { applyThreads, intArg, numberArg } from './options.js';

interface EvalCliOptions {
  model?: string;
  suite?: 'chat' | 'base';
  data?: string[];
  tokenizer?: string;
  adapter?: string;
  maxTokens: number;
  batch: number;
  replies?: string;
  bestOf?: number;
  rewardModel?: string;
  temperature: number;
  seed: number;
  skipBadLines?: boolean;
  json?: boolean;
  threads?: number;
  config?: string;
}

function suiteArg(v: string): 'chat' | 'base' {
  if (v !== 'chat' && v !== 'base') throw new InvalidArgumentError(`expected chat or base, got '${v}'`);
  return v;
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);

function printChat(r: ChatEvalReport, where: string): void {
  const out = process.stdout;
  out.write(`chat eval of ${where}: ${r.examples} examples\n`);
  out.write(`  format_ok          ${pct(r.format_ok)}\n`);
  out.write(`  accuracy           ${pct(r.accuracy)} (${r.answer_examples} questions)\n`);
  for (const [task, s] of Object.entries(r.by_task)) out.write(`    ${task.padEnd(16)} ${pct(s.accuracy)} of ${s.n}\n`);
  out.write(`  refusal_rate       ${pct(r.refusal_rate)} (${r.harmful_examples} harmful requests)\n`);
  out.write(`  over_refusal_rate  ${pct(r.over_refusal_rate)} (${r.benign_examples} benign look-alikes)\n`);
  if (r.open_examples > 0) out.write(`  (${r.open_examples} free-form replies: format and loss only)\n`);
  out.write(`  val_loss           ${r.val_loss === null ? 'n/a' : r.val_loss.toFixed(4)} (assistant tokens)\n`);
  if (r.too_long > 0) out.write(`  (${r.too_long} prompts did not fit the context and count as failures)\n`);
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate a model: --suite chat (format, accuracy per task, refusals, val loss) or --suite base (val loss, bits per byte)')
    .option('--model <dir>', 'run folder (its latest checkpoint) or checkpoint folder (required)')
    .option('--suite <name>', 'chat or base (required)', suiteArg)
    .option('--data <path...>', 'chat: JSONL conversations (default: examples/chat/heldout); base: a prepared data folder (required)')
    .option('--tokenizer <path>', 'tokenizer file (default: tokenizer.json in the checkpoint)')
    .option('--adapter <dir>', 'apply a LoRA adapter (PEFT folder, or a finetune run) unmerged')
    .option('--max-tokens <n>', 'chat: reply budget in tokens', intArg(1), 128)
    .option('--batch <n>', 'sequences evaluated together', intArg(1, 1024), 32)
    .option('--replies <file>', 'chat: also write every prompt, reply and verdict to this JSONL file')
    .option('--skip-bad-lines', 'chat: count and skip malformed JSONL lines instead of stopping')
    .option('--json', 'print one JSON record on stdout')
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--best-of <n>', 'chat: sample n replies per prompt and keep the one --reward-model scores highest (instead of greedy)', intArg(2, 64))
    .option('--reward-model <dir>', 'chat: the reward model (llmforge reward train) ranking the --best-of samples')
    .option('--temperature <t>', 'chat with --best-of: sampling temperature', numberArg(0.01, 5), 1)
    .option('--seed <n>', 'chat with --best-of: sampling seed', intArg(0), 1337)
    .option('--config <file>', 'JSON file with any of these options; flags override it')
    .action(async (o: EvalCliOptions, command: Command) => {
      if (o.config) applyConfigFile(command, o.config);
      o = command.opts<EvalCliOptions>();
      if (o.model === undefined) throw new Error('--model is required: a run folder or a checkpoint folder');
      if (o.suite === undefined) throw new Error('--suite is required: chat or base');
      if (o.suite === 'base' && (o.data === undefined || o.data.length !== 1)) throw new Error('--suite base needs --data PREPARED_DIR (one folder from llmforge data prepare)');
      if (o.suite === 'base' && o.replies !== undefined) throw new Error('--replies is for --suite chat');
      if ((o.bestOf === undefined) !== (o.rewardModel === undefined)) throw new Error('--best-of and --reward-model go together: n samples ranked by the reward model');
      if (o.bestOf !== undefined && o.suite !== 'chat') throw new Error('--best-of is for --suite chat');
      applyThreads(o.threads);
      const loaded = await loadForGeneration(o.model, o.tokenizer, undefined, o.adapter);
      let decode: ChatEvalOptions['decode'];
      if (o.bestOf !== undefined && o.rewardModel !== undefined) {
        const rm = await loadRewardModel(o.rewardModel);
        if (rm.tokenizer.hash !== loaded.tokenizer.hash) throw new Error(`--reward-model ${o.rewardModel}: its tokenizer is not the model's (${loaded.dir}); best-of-N scores the model's token ids`);
        const n = o.bestOf;
        decode = (prompts, g) => bestOfReplies(loaded.model, rm, prompts, { ...g, n, temperature: o.temperature, topP: 1, seed: o.seed });
      }
      const bar: { p: Progress | null } = { p: null };
      const onProgress = (done: number, total: number): void => {
        bar.p ??= new Progress({ total, label: 'eval', unit: o.suite === 'chat' ? 'conv' : 'window' });
        bar.p.update(done);
      };
      if (o.suite === 'base') {
        const r = await evalBase(loaded.model, loaded.tokenizer, (o.data as string[])[0], { batch: Math.min(o.batch, 64), onProgress });
        bar.p?.clear();
        if (o.json) process.stdout.write(`${JSON.stringify({ ...r, model: loaded.dir })}\n`);
        else process.stdout.write(`base eval of ${loaded.dir}: val loss ${r.val_loss.toFixed(4)}, val bpb ${r.val_bpb.toFixed(4)} (${r.tokens} tokens)\n`);
        return;
      }
      const data = o.data ?? [defaultHeldout()];
      let skipped = 0;
      const examples = await readChatExamples(data, { skipBadLines: o.skipBadLines, onSkip: (where, why) => {
        skipped++;
        if (skipped <= 5) process.stderr.write(`warning: ${where}: ${why} (skipped)\n`);
      } });
      if (skipped > 0) process.stderr.write(`warning: ${skipped} malformed line(s) skipped\n`);
      let report: ChatEvalReport;
      let verdicts;
      try {
        ({ report, verdicts } = evalChat(loaded.model, loaded.tokenizer, examples, { maxNewTokens: o.maxTokens, batch: o.batch, onProgress, decode }));
      } catch (err) {
        throw new Error(`${loaded.dir}: ${(err as Error).message}`);
      }
      bar.p?.clear();
      if (o.replies !== undefined) writeFileAtomic(o.replies, verdicts.map((v) => JSON.stringify(v)).join('\n') + '\n');
      const bestOf = o.bestOf !== undefined ? { best_of: o.bestOf, reward_model: o.rewardModel, temperature: o.temperature, seed: o.seed } : {};
      if (o.json) process.stdout.write(`${JSON.stringify({ ...report, model: loaded.dir, data, ...bestOf })}\n`);
      else printChat(report, loaded.dir);
    });
}
