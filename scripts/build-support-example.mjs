#!/usr/bin/env node
// Builds examples/support/: a command-line support assistant's chat data, made from the
// Debian man pages installed on this machine (/usr/share/man/man1/*.1.gz). For each command
// of a fixed list: its NAME line ("tar - an archiving utility") and its options (the `.TP`
// paragraphs of the OPTIONS section) become questions and answers:
//
//   What does `ls -a` do?                 →  `ls -a` (--all): do not ignore entries starting with .
//   How do I list entries by columns with ls?  →  Use `ls -C`.
//   What is the tar command for?          →  tar: an archiving utility.
//
// Held out (heldout.jsonl.gz): one option in five of every command (chosen by a hash of the
// option, so it is stable) in every phrasing, and every option in two phrasings never used for
// training — so the held-out set measures unseen options AND unseen wordings.
//
//   node scripts/build-support-example.mjs [--man-dir /usr/share/man/man1] [--out examples/support] [--heldout-max 500]
//
// The roff parser is deliberately small: it reads .SH/.TP/.IP/.PP structure and the common
// font and character escapes, which is what the man pages of these commands use.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const manDir = flag('--man-dir', '/usr/share/man/man1');
const outDir = flag('--out', 'examples/support');
const HELD_MAX = Number(flag('--heldout-max', '500'));

// Everyday commands whose pages use .TP option paragraphs.
const COMMANDS = [
  'ls', 'cp', 'mv', 'rm', 'mkdir', 'rmdir', 'ln', 'cat', 'head', 'tail', 'wc', 'sort', 'uniq', 'cut', 'paste', 'tr', 'du', 'df',
  'chmod', 'chown', 'touch', 'date', 'tar', 'gzip', 'grep', 'find', 'xargs', 'sed', 'diff', 'split', 'stat', 'tee', 'nl', 'od',
  'comm', 'join', 'fold', 'fmt', 'install', 'readlink', 'realpath', 'shred', 'base64', 'md5sum', 'sha256sum', 'tac', 'env', 'id',
  'uname', 'who', 'nproc', 'timeout', 'basename', 'dirname', 'seq', 'shuf', 'expand', 'unexpand', 'ps', 'free', 'kill', 'less',
];

/** Plain text of a roff line: fonts dropped, escapes decoded. */
function text(s) {
  return s
    .replace(/\\f(\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\\*\((..)|\\\*\[([^\]]*)\]|\\\*(.)/g, '')
    .replace(/\\\(em|\\\(en/g, '-').replace(/\\\(aq/g, "'").replace(/\\\(dq/g, '"').replace(/\\\(bu/g, '*')
    .replace(/\\\((..)/g, '')
    .replace(/\\-/g, '-').replace(/\\&/g, '').replace(/\\e/g, '\\').replace(/\\ /g, ' ').replace(/\\,|\\\/|\\%|\\:|\\\^|\\\|/g, '')
    .replace(/\\"/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The macro's arguments as text (.B/.I/.BR …: alternate fonts, joined). */
function macroText(line) {
  const m = /^\.(B|I|BR|RB|BI|IB|IR|RI)\s+(.*)$/.exec(line);
  if (!m) return null;
  const parts = m[2].match(/"[^"]*"|\S+/g) ?? [];
  const joined = parts.map((p) => p.replace(/^"|"$/g, '')).join(m[1].length === 2 ? '' : ' ');
  return text(joined);
}

/** NAME line and options (flags, description) of a man page. */
export function parseMan(roff) {
  const lines = roff.split('\n');
  let section = '';
  let name = null;
  const options = [];
  let cur = null;
  let expectTag = false;
  const finish = () => {
    if (cur && cur.desc.length > 0) options.push(cur);
    cur = null;
  };
  for (const raw of lines) {
    const line = raw.replace(/\s+$/, '');
    if (line.startsWith('.\\"') || line.startsWith("'\\\"")) continue;
    const sh = /^\.SH\s+"?([^"]*)"?/.exec(line);
    if (sh) {
      finish();
      section = sh[1].trim().toUpperCase();
      continue;
    }
    if (section === 'NAME' && !line.startsWith('.') && name === null) {
      const t = text(line);
      const m = /^(.+?)\s+-\s+(.+)$/.exec(t);
      if (m) name = { names: m[1], what: m[2] };
      continue;
    }
    if (section !== 'OPTIONS' && section !== 'DESCRIPTION') continue;
    if (/^\.(TP|IP)\b/.test(line)) {
      finish();
      const ip = /^\.IP\s+"([^"]+)"|^\.IP\s+(\S+)/.exec(line);
      if (ip) {
        const tag = text(ip[1] ?? ip[2]);
        if (tag.startsWith('-')) cur = { tag, desc: [] };
        expectTag = false;
      } else expectTag = true;
      continue;
    }
    if (/^\.(PP|LP|P|SS|RS|RE|sp|br|nf|fi|in|ad|na|hy|nh|ne|ti|TQ|PD)\b/.test(line)) {
      if (/^\.(PP|LP|P|SS)\b/.test(line)) finish();
      continue;
    }
    const body = line.startsWith('.') ? macroText(line) : text(line);
    if (body === null || body === '') continue;
    if (expectTag) {
      expectTag = false;
      cur = body.startsWith('-') ? { tag: body, desc: [] } : null;
      continue;
    }
    if (cur) cur.desc.push(body);
  }
  finish();
  return { name, options };
}

/** "-a, --all" → { short: '-a', long: '--all' }; the first flag is the one questions use. */
function flags(tag) {
  const list = tag.split(/,\s*|\s+or\s+/).map((f) => f.trim().split(/[\s=[]/)[0]).filter((f) => /^--?[A-Za-z0-9]/.test(f));
  if (list.length === 0) return null;
  return { first: list[0], all: list };
}

/** First sentence, lower-cased start, at most 110 characters; null when unusable. */
function clause(desc) {
  let s = desc.join(' ').replace(/\s+/g, ' ').trim();
  s = s.split(/(?<=[a-z)])\.\s|;\s/)[0].replace(/\.$/, '').trim();
  if (s.length < 8 || s.length > 110) return null;
  if (!/^[a-z]/i.test(s)) return null;
  return s.charAt(0).toLowerCase() + s.slice(1);
}

const hash = (s) => createHash('sha256').update(s).digest().readUInt32LE(0) / 2 ** 32;
const chat = (q, a, task) => ({ task, messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });

// Phrasings: the first ones train, the last ones only ever appear in the held-out set.
const WHAT_OPT = [(c, f) => `What does \`${c} ${f}\` do?`, (c, f) => `What is the ${f} option of ${c}?`, (c, f) => `Explain \`${c} ${f}\`.`];
const WHAT_OPT_HELD = [(c, f) => `In ${c}, what is ${f} for?`];
const HOW = [(c, d) => `How do I ${d} with ${c}?`, (c, d) => `Which ${c} option should I use to ${d}?`];
const HOW_HELD = [(c, d) => `With ${c}, how can I ${d}?`];
const WHAT_CMD = [(c) => `What is the ${c} command for?`, (c) => `What does ${c} do?`];
const WHAT_CMD_HELD = [(c) => `Tell me briefly what ${c} does.`];

function examplesFor(cmd, page) {
  const train = [];
  const held = [];
  if (page.name) {
    const a = `${cmd}: ${page.name.what.replace(/\.$/, '')}.`;
    WHAT_CMD.forEach((q) => train.push(chat(q(cmd), a, 'man-command')));
    WHAT_CMD_HELD.forEach((q) => held.push(chat(q(cmd), a, 'man-command')));
  }
  const seen = new Set();
  for (const o of page.options.slice(0, 40)) {
    const f = flags(o.tag);
    const d = clause(o.desc);
    if (f === null || d === null || seen.has(f.first) || f.all.includes('--help') || f.all.includes('--version')) continue;
    seen.add(f.first);
    const alias = f.all.length > 1 ? ` (${f.all.slice(1).join(', ')})` : '';
    const what = `\`${cmd} ${f.first}\`${alias}: ${d}.`;
    const how = `Use \`${cmd} ${f.first}\`.`;
    const unseenOption = hash(`${cmd} ${f.first}`) < 0.2;
    for (const q of WHAT_OPT) (unseenOption ? held : train).push(chat(q(cmd, f.first), what, 'man-option'));
    for (const q of HOW) (unseenOption ? held : train).push(chat(q(cmd, d), how, 'man-howto'));
    for (const q of WHAT_OPT_HELD) held.push(chat(q(cmd, f.first), what, 'man-option'));
    for (const q of HOW_HELD) held.push(chat(q(cmd, d), how, 'man-howto'));
  }
  return { train, held };
}

function writeGz(path, rows) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, gzipSync(Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'), { level: 9 }));
  renameSync(tmp, path);
}

const train = [];
const held = [];
const used = [];
for (const cmd of COMMANDS) {
  const path = join(manDir, `${cmd}.1.gz`);
  if (!existsSync(path)) {
    process.stderr.write(`skip ${cmd}: no ${path}\n`);
    continue;
  }
  const page = parseMan(gunzipSync(readFileSync(path)).toString('utf8'));
  const r = examplesFor(cmd, page);
  if (r.train.length === 0) continue;
  train.push(...r.train);
  held.push(...r.held);
  used.push(`${cmd} (${page.options.length} options)`);
}
// A fixed shuffle, so training batches mix commands.
const order = (rows) => rows.map((r) => [hash(JSON.stringify(r)), r]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
mkdirSync(outDir, { recursive: true });
writeGz(join(outDir, 'train.jsonl.gz'), order(train));
// A fixed sample of the held-out questions keeps the eval's greedy decoding short.
writeGz(join(outDir, 'heldout.jsonl.gz'), order(held).slice(0, HELD_MAX));
process.stderr.write(`${used.length} commands, ${train.length} training and ${Math.min(held.length, HELD_MAX)} held-out conversations → ${outDir}\n`);
