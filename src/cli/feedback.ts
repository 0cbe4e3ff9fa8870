/** `llmforge feedback serve | export | stats`: human preference votes collected in a SQLite file (alignment stage). */
import { type Command } from 'commander';
import { applyConfigFile } from './data.js';
import { openFeedbackDb } from '../align/feedback/db.js';
import { feedbackStats, preferencesJsonl, type FeedbackStats } from '../align/feedback/export.js';
import { writeFileAtomic } from '../util/atomic.js';
import { registerFeedbackServe, required } from './feedback-serve.js';

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`;
}

export function formatStats(s: FeedbackStats): string {
  const lines = [`${s.totals.votes} live votes on ${s.totals.pairs_judged} pairs; ${s.totals.preference_records} preference records to export`];
  if (s.annotators.length > 0) {
    const head = ['annotator', 'votes', 'A/B', 'tie', 'both bad', 'skip', 'written', 'undone'];
    const rows = s.annotators.map((a) => [a.annotator, a.votes, a.a_or_b, a.tie, a.both_bad, a.skip, a.written, a.undone].map(String));
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const r of [head, ...rows]) lines.push(r.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  '));
  }
  const g = s.agreement;
  lines.push(g.comparisons === 0
    ? 'agreement: n/a (no pair was judged by two annotators)'
    : `agreement: ${pct(g.agreement)} (${g.agreements} of ${g.comparisons} comparisons on ${g.shared_pairs} shared pairs); ` +
      `on A/B decisions: ${pct(g.preference_agreement)} (${g.preference_agreements} of ${g.preference_comparisons})`);
  return `${lines.join('\n')}\n`;
}

export function registerFeedback(program: Command): void {
  const fb = program.command('feedback').description('collect human preference votes (A vs B) and export them for DPO / reward models');
  registerFeedbackServe(fb);

  fb.command('export')
    .description('write one preference record per A/B decision: {"prompt","chosen","rejected","annotator","source":"human"}')
    .option('--db <file>', 'feedback database (from feedback serve)')
    .option('--out <file>', 'JSONL file to write (atomically)')
    .option('--json', 'print a JSON summary on stdout')
    .option('--config <file>', 'JSON file with any of these options; flags override it')
    .action((opts: { config?: string }, command: Command) => {
      if (opts.config) applyConfigFile(command, opts.config);
      const o = command.opts<{ db?: string; out?: string; json?: boolean }>();
      const dbPath = required(o.db, '--db', 'the feedback database');
      const out = required(o.out, '--out', 'the JSONL file to write');
      const db = openFeedbackDb(dbPath, { mustExist: true });
      let text: string;
      try {
        text = preferencesJsonl(db);
      } finally {
        db.close();
      }
      try {
        writeFileAtomic(out, text);
      } catch (err) {
        throw new Error(`--out ${out}: ${(err as Error).message}`);
      }
      const n = text === '' ? 0 : text.split('\n').length - 1;
      if (o.json) process.stdout.write(`${JSON.stringify({ out, records: n })}\n`);
      else process.stderr.write(`llmforge: ${n} preference records → ${out}\n`);
    });

  fb.command('stats')
    .description('votes per annotator and agreement where two annotators judged the same pair')
    .option('--db <file>', 'feedback database')
    .option('--json', 'one JSON object on stdout')
    .option('--config <file>', 'JSON file with any of these options; flags override it')
    .action((opts: { config?: string }, command: Command) => {
      if (opts.config) applyConfigFile(command, opts.config);
      const o = command.opts<{ db?: string; json?: boolean }>();
      const db = openFeedbackDb(required(o.db, '--db', 'the feedback database'), { mustExist: true });
      try {
        const s = feedbackStats(db);
        process.stdout.write(o.json ? `${JSON.stringify(s)}\n` : formatStats(s));
      } finally {
        db.close();
      }
    });
}
