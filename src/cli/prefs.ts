/** `llmforge prefs generate`: preference pairs judged by rules, a stand-in for human votes. */
import type { Command } from 'commander';
import { prefsGenerate } from '../align/index.js';
import { applyThreads, intArg, numberArg } from './options.js';

interface Opts {
  model: string;
  prompts: string[];
  samples: number;
  out: string;
  maxPrompts?: number;
  perTask?: number;
  referenceCandidate?: boolean;
  temperature: number;
  topP: number;
  maxTokens: number;
  batch: number;
  seed: number;
  threads?: number;
  skipBadLines?: boolean;
  json?: boolean;
}

export function registerPrefs(program: Command): void {
  const prefs = program.command('prefs').description('preference pairs for DPO and reward models without people');
  prefs
    .command('generate')
    .description('sample K replies per prompt, judge them by the chat eval\'s rules, write best vs worst as {"prompt","chosen","rejected","source":"rules"}')
    .requiredOption('--model <dir>', 'chat model (run folder or checkpoint), usually the SFT run')
    .requiredOption('--prompts <path...>', 'JSONL prompts: {"messages":[... user]}, {"prompt":"..."} or chat examples with a reference reply, task and label')
    .requiredOption('--samples <k>', 'replies sampled per prompt (at least 2)', intArg(2, 64))
    .requiredOption('--out <file>', 'preference pairs JSONL (written atomically)')
    .option('--max-prompts <n>', 'use a seeded random subset of this many prompts', intArg(1))
    .option('--per-task <n>', 'use at most this many prompts of each task family (seeded; before --max-prompts)', intArg(1))
    .option('--reference-candidate', "judge each prompt's reference reply too, beside the samples (it can be chosen when every sample is wrong)")
    .option('--temperature <t>', 'sampling temperature', numberArg(0.01, 5), 1)
    .option('--top-p <p>', 'nucleus sampling mass', numberArg(0.01, 1), 1)
    .option('--max-tokens <n>', 'reply budget in tokens', intArg(1), 64)
    .option('--batch <n>', 'sequences decoded together (prompts × samples)', intArg(1, 4096), 64)
    .option('--seed <n>', 'random seed (prompt subset and sampling)', intArg(0), 1337)
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--skip-bad-lines', 'count and skip malformed JSONL lines instead of stopping')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (o: Opts) => {
      applyThreads(o.threads);
      const r = await prefsGenerate({
        model: o.model, prompts: o.prompts, samples: o.samples, out: o.out, maxPrompts: o.maxPrompts, perTask: o.perTask, referenceCandidate: o.referenceCandidate, temperature: o.temperature,
        topP: o.topP,
        maxNewTokens: o.maxTokens, batch: o.batch, seed: o.seed, skipBadLines: o.skipBadLines,
      });
      if (o.json) process.stdout.write(`${JSON.stringify({ command: 'prefs generate', ...r, out: o.out })}\n`);
      process.stderr.write(`done: ${r.pairs} pairs from ${r.prompts} prompts (${r.tied} skipped: every sample scored the same; ` +
        `answer ${r.byKind.answer}, harmful ${r.byKind.harmful}, benign ${r.byKind.benign}, open ${r.byKind.open}); mean score chosen ${r.chosenScore.toFixed(2)}, ` +
        `rejected ${r.rejectedScore.toFixed(2)}; ${r.seconds.toFixed(1)} s → ${o.out}\n`);
    });
}
