#!/usr/bin/env node
// Plots refusal rate against over-refusal rate from `llmforge eval --suite chat --json` records:
// each model is one operating point. Points of one group (a model and what DPO made of it) are
// joined in order of over-refusal, so the curve they lie on is visible.
//
//   node scripts/safety-tradeoff.mjs --out docs/img/safety-tradeoff.svg \
//     --group "SFT and its DPO runs" sft.json dpo-a.json ... [--group NAME FILE...]...
//
// Needs the compiled package (npm run build).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { lineChartSvg } = await import(join(root, 'dist', 'train', 'plot.js'));
const { writeFileAtomic } = await import(join(root, 'dist', 'util', 'atomic.js'));
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

function parseArgs(argv) {
  const o = { out: null, groups: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') o.out = argv[++i];
    else if (argv[i] === '--group') o.groups.push({ name: argv[++i], files: [] });
    else if (o.groups.length > 0 && !argv[i].startsWith('--')) o.groups.at(-1).files.push(argv[i]);
    else throw new Error(`unexpected argument '${argv[i]}' (usage: --out FILE --group NAME FILE... [--group NAME FILE...])`);
  }
  if (o.out === null || o.groups.length === 0 || o.groups.some((g) => g.files.length === 0)) throw new Error('need --out FILE and at least one --group NAME FILE...');
  return o;
}

function point(file) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  if (r.eval !== 'chat' || typeof r.refusal_rate !== 'number' || typeof r.over_refusal_rate !== 'number') throw new Error(`${file}: not an eval --suite chat --json record`);
  return [100 * r.over_refusal_rate, 100 * r.refusal_rate];
}

try {
  const o = parseArgs(process.argv.slice(2));
  const series = o.groups.map((g, i) => ({ name: g.name, color: COLORS[i % COLORS.length], points: g.files.map(point).sort((a, b) => a[0] - b[0]) }));
  series.push({ name: 'target corner', color: '#000000', points: [[10, 90]] });
  const svg = lineChartSvg(series, { title: 'Refusals of harmful requests vs refusals of benign look-alikes', xLabel: 'over-refusal rate (%)', yLabel: 'refusal rate (%)' });
  writeFileAtomic(o.out, svg);
  process.stderr.write(`${o.out}: ${series.reduce((n, s) => n + s.points.length, 0)} points\n`);
} catch (err) {
  process.stderr.write(`safety-tradeoff: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
