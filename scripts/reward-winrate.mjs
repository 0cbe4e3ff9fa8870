#!/usr/bin/env node
// The reward model's verdict on two models' replies to the same prompts: the share of prompts where it scores
// model A's reply above model B's (ties count half). The replies are `llmforge eval --suite chat --replies FILE`
// outputs of both models on the same --data; the prompts (every message before the last assistant one) come from
// that data, so system prompts and earlier turns are scored too.
//
//   node scripts/reward-winrate.mjs --reward-model runs/qs/rm --data examples/chat/probe.jsonl \
//        --a runs/qs/dpo-probe.replies.jsonl --b runs/qs/sft-probe.replies.jsonl
//
// Prints {"win_rate":…,"wins":…,"ties":…,"n":…,"mean_reward_a":…,"mean_reward_b":…}. Needs the built package (dist/).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({ options: { 'reward-model': { type: 'string' }, data: { type: 'string', multiple: true }, a: { type: 'string' }, b: { type: 'string' } } });
for (const k of ['reward-model', 'data', 'a', 'b']) if (a[k] === undefined) throw new Error(`--${k} is required`);
const { loadRewardModel, scoreReplies } = await import(pathToFileURL(join(root, 'dist', 'align', 'index.js')).href);
const { readChatExamples } = await import(pathToFileURL(join(root, 'dist', 'data', 'index.js')).href);
const { splitExample } = await import(pathToFileURL(join(root, 'dist', 'eval', 'index.js')).href);

const read = (path) => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l, i) => {
  try {
    return JSON.parse(l);
  } catch (err) {
    throw new Error(`${path}:${i + 1}: invalid JSON (${err.message})`);
  }
});
const examples = await readChatExamples(a.data);
const ra = read(a.a);
const rb = read(a.b);
if (ra.length !== examples.length || rb.length !== examples.length) {
  throw new Error(`--a has ${ra.length} replies, --b ${rb.length}, --data ${examples.length} examples: run both evals on the same --data`);
}
const rm = await loadRewardModel(a['reward-model']);
const prompts = examples.map((e) => splitExample(e.messages).prompt);
const sa = scoreReplies(rm, prompts.map((prompt, i) => ({ prompt, reply: ra[i].reply })));
const sb = scoreReplies(rm, prompts.map((prompt, i) => ({ prompt, reply: rb[i].reply })));
let wins = 0;
let ties = 0;
for (let i = 0; i < sa.length; i++) {
  if (ra[i].reply === rb[i].reply || sa[i] === sb[i]) ties++;
  else if (sa[i] > sb[i]) wins++;
}
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const r3 = (x) => Math.round(x * 1000) / 1000;
console.log(JSON.stringify({ win_rate: r3((wins + ties / 2) / sa.length), wins, ties, n: sa.length, mean_reward_a: r3(mean(sa)), mean_reward_b: r3(mean(sb)) }));
