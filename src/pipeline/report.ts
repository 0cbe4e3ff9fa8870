/**
 * The report card of a pipeline run: report.md and a self-contained report.html (inline SVG
 * plots, no scripts, no network) built from what the stages left on disk — their stage.json,
 * the training runs' metrics.jsonl, and the eval stage's eval.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg, type Series } from '../train/index.js';
import { formatDuration } from '../util/progress.js';
import { writeFileAtomic } from '../util/atomic.js';
import { MODEL_COLUMNS, pct, type EvalFile } from './eval-stage.js';
import type { StageName } from './config.js';
import { readRecord, seconds, type StageRecord } from './run.js';

interface StageView {
  stage: StageName;
  record: StageRecord | null;
  curves: Series[];
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Markdown table cells: pipes and line breaks would end the cell. */
function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ⏎ ').replace(/</g, '&lt;');
}

function readJson<T>(path: string): T | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** train_loss and val_loss by step from a run's metrics.jsonl. */
function lossCurves(runDir: string): Series[] {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  const train: Array<[number, number]> = [];
  const val: Array<[number, number]> = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const step = r.step;
    if (typeof step !== 'number') continue;
    if (typeof r.train_loss === 'number') train.push([step, r.train_loss]);
    if (typeof r.val_loss === 'number') val.push([step, r.val_loss]);
  }
  const s: Series[] = [];
  if (train.length > 0) s.push({ name: 'train loss', color: '#1f77b4', points: train });
  if (val.length > 0) s.push({ name: 'val loss', color: '#d62728', points: val });
  return s;
}

const num = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));

function stageRows(views: readonly StageView[]): string[][] {
  return views.map(({ stage, record: r }) => [
    stage,
    r === null ? 'not run' : seconds(r.seconds) + (r.resumed ? ' (resumed)' : ''),
    r?.tokens_per_s === null || r?.tokens_per_s === undefined ? '—' : Math.round(r.tokens_per_s).toLocaleString('en-US'),
    r === null ? '—' : `${Math.round(r.peak_rss_mb)} MiB`,
    r === null ? '' : r.key,
  ]);
}

const STAGE_HEAD = ['stage', 'time', 'tokens/s', 'peak memory', 'key'];

function modelTable(ev: EvalFile | null): { head: string[]; rows: string[][]; note: string } {
  const cols = MODEL_COLUMNS.filter((c) => ev?.models[c.model] !== undefined).map((c) => c.model);
  const m = (name: string) => (ev as EvalFile).models[name];
  const rows: string[][] = ev === null ? [] : [
    ['val bpb', ...cols.map((c) => num(m(c).base.val_bpb))],
    ['chat format', ...cols.map((c) => pct(m(c).chat.format_ok))],
    ['accuracy', ...cols.map((c) => pct(m(c).chat.accuracy))],
    ['refusal (harmful)', ...cols.map((c) => pct(m(c).chat.refusal_rate))],
    ['over-refusal (benign)', ...cols.map((c) => pct(m(c).chat.over_refusal_rate))],
    ['reward-model win rate (vs SFT)', ...cols.map((c) => pct(m(c).reward_win_rate_vs_sft))],
  ];
  const first = ev !== null && cols.length > 0 ? m(cols[0]).chat : null;
  const note = first === null ? 'No eval stage in this pipeline.'
    : `Chat rows: ${first.examples} held-out conversations (${first.answer_examples} questions, ${first.harmful_examples} harmful, ` +
      `${first.benign_examples} benign look-alikes). val bpb: the data stage's val split. Reward-model win rate: how often the reward ` +
      "stage's model scores the model's reply above the SFT model's on the same prompt (ties half; n/a without a reward stage).";
  return { head: ['', ...cols], rows, note };
}

function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.map(mdCell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)].join('\n');
}

function htmlTable(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`).join('') + '</tbody></table>';
}

/** Writes OUT/report.md and OUT/report.html; returns their paths. */
export function writeReport(out: string, stages: ReadonlyArray<{ stage: StageName; dir: string }>): { md: string; html: string } {
  const views: StageView[] = stages.map(({ stage, dir }) => {
    const record = readRecord(dir, out);
    const run = record?.outputs.run;
    return { stage, record, curves: run !== undefined ? lossCurves(run) : [] };
  });
  const evalPath = views.find((v) => v.stage === 'eval')?.record?.outputs.eval;
  const ev = evalPath !== undefined ? readJson<EvalFile>(evalPath) : null;
  const table = modelTable(ev);
  const total = views.reduce((a, v) => a + (v.record?.seconds ?? 0), 0);
  const models = ev === null ? [] : MODEL_COLUMNS.filter((c) => ev.models[c.model] !== undefined).map((c) => c.model);
  const samples = ev === null || models.length === 0 ? [] : ev.models[models[0]].samples.map((s, i) => ({
    kind: s.kind, prompt: s.prompt, replies: models.map((m) => ({ model: m, reply: ev.models[m].samples[i]?.reply ?? '' })),
  }));
  const title = 'llmforge report card';
  const generated = new Date().toISOString();

  const md: string[] = [`# ${title}`, '', `${out} — generated ${generated}; stages took ${formatDuration(total)} in all.`, '', '## Models', '',
    mdTable(table.head, table.rows), '', table.note, '', '## Stages', '', mdTable(STAGE_HEAD, stageRows(views)), ''];
  for (const v of views.filter((x) => x.curves.length > 0)) md.push(`Loss curves of ${v.stage}: ${join(v.record?.outputs.run ?? '', 'loss.svg')}`, '');
  if (samples.length > 0) {
    md.push('## Sample replies', '');
    for (const s of samples) {
      md.push(`**${mdCell(s.prompt)}** (${s.kind})`, '');
      md.push(mdTable(['model', 'reply'], s.replies.map((r) => [r.model, r.reply === '' ? '(empty)' : r.reply])), '');
    }
  }

  const html: string[] = ['<!doctype html>', '<html lang="en"><head><meta charset="utf-8">', `<title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}' +
    'table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 10px;text-align:left;vertical-align:top}' +
    'thead th{background:#f3f3f3}td{white-space:pre-wrap}.plots{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}.note{color:#555}</style></head><body>',
    `<h1>${escapeHtml(title)}</h1>`, `<p class="note">${escapeHtml(out)} — generated ${escapeHtml(generated)}; stages took ${escapeHtml(formatDuration(total))} in all.</p>`,
    '<h2 id="models">Models</h2>', htmlTable(table.head, table.rows), `<p class="note">${escapeHtml(table.note)}</p>`,
    '<h2 id="stages">Stages</h2>', htmlTable(STAGE_HEAD, stageRows(views))];
  const plotted = views.filter((x) => x.curves.length > 0);
  if (plotted.length > 0) {
    html.push('<h2 id="loss">Loss curves</h2>', '<div class="plots">');
    for (const v of plotted) html.push(`<figure>${lineChartSvg(v.curves, { title: `${v.stage} loss`, xLabel: 'step', yLabel: 'loss', width: 520, height: 300 })}</figure>`);
    html.push('</div>');
  }
  if (samples.length > 0) {
    html.push('<h2 id="samples">Sample replies</h2>');
    for (const s of samples) {
      html.push(`<h3>${escapeHtml(s.prompt)} <small class="note">(${escapeHtml(s.kind)})</small></h3>`);
      html.push(htmlTable(['model', 'reply'], s.replies.map((r) => [r.model, r.reply === '' ? '(empty)' : r.reply])));
    }
  }
  html.push('</body></html>');
  const mdPath = join(out, 'report.md');
  const htmlPath = join(out, 'report.html');
  writeFileAtomic(mdPath, `${md.join('\n')}\n`);
  writeFileAtomic(htmlPath, `${html.join('\n')}\n`);
  return { md: mdPath, html: htmlPath };
}
