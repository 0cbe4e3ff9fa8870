/**
 * The comparison page: one self-contained HTML document (inline CSS and script, no build
 * step, nothing fetched but the JSON API). Every model or user text is put in with
 * textContent, never as HTML. Keys: 1–5 vote, u undoes, Escape leaves the text box.
 */

const CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #667085; --line: #d0d5dd;
  --accent: #2f5bd3; --on-accent: #fff; --ok: #157347; --bad: #b42318; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
@media (prefers-color-scheme: dark) { :root { --bg: #14171c; --card: #1e232b; --ink: #e6e8ec; --muted: #98a2b3; --line: #344054; --accent: #7ea2ff; --on-accent: #0b1020;
  --ok: #4ade80; --bad: #f97066; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); }
header { display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; align-items: center; padding: .75rem 1.5rem; background: var(--card);
  border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.05rem; margin: 0; font-weight: 650; }
header .title { color: var(--muted); font-size: .9rem; overflow-wrap: anywhere; }
header label { display: flex; gap: .5rem; align-items: center; margin-left: auto; }
#progress { font-variant-numeric: tabular-nums; color: var(--muted); }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 .5rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; }
#prompt .msg { margin: 0 0 .6rem; }
#prompt .role { font-size: .75rem; font-weight: 650; text-transform: uppercase; color: var(--accent); margin-right: .5rem; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin: 1rem 0; }
@media (max-width: 760px) { .sides { grid-template-columns: 1fr; } }
.side h2 { font-size: 1rem; color: var(--ink); }
.reply { min-height: 6rem; max-height: 60vh; overflow-y: auto; }
.reply:empty::before { content: "(empty reply)"; color: var(--muted); font-style: italic; }
.waiting .reply { opacity: .45; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: 1rem 0 .25rem; }
button { font: inherit; padding: .55rem 1rem; border-radius: 8px; border: 1px solid var(--line); background: var(--card); color: var(--ink);
  cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--on-accent); }
button:disabled { opacity: .5; cursor: default; }
#undo { margin-left: auto; }
.keys { color: var(--muted); font-size: .85rem; margin: .25rem 0 1rem; }
kbd { font: .8rem ui-monospace, monospace; border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px; padding: 0 .3rem; }
textarea { width: 100%; min-height: 5rem; font: inherit; padding: .6rem; border-radius: 8px; border: 1px solid var(--line);
  background: var(--card); color: var(--ink); resize: vertical; }
input { font: inherit; padding: .35rem .5rem; border-radius: 6px; border: 1px solid var(--line); background: var(--card); color: var(--ink); }
#status { min-height: 1.5rem; margin: .5rem 0; }
#status.error { color: var(--bad); font-weight: 600; }
#status.ok { color: var(--ok); }
#done { display: none; }
.finished #done { display: block; }
.finished #item { display: none; }
`;

/** The page's script: plain browser JavaScript (the project compiles no client code). */
const SCRIPT = `
'use strict';
const $ = (id) => document.getElementById(id);
const CHOICES = { '1': 'A', '2': 'B', '3': 'tie', '4': 'both_bad', '5': 'skip' };
const LABELS = { A: 'A is better', B: 'B is better', tie: 'Tie', both_bad: 'Both bad', skip: 'Skip' };
let current = null;
let busy = false;

function status(text, kind) {
  const s = $('status');
  s.textContent = text;
  s.className = kind || '';
}
function annotator() { return $('annotator').value.trim(); }
function setBusy(b) {
  busy = b;
  for (const el of document.querySelectorAll('button[data-choice]')) el.disabled = b || current === null;
  $('undo').disabled = b || annotator() === '';
}
async function api(method, path, body) {
  const res = await fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => ({ error: res.status + ' ' + res.statusText }));
  if (!res.ok) throw new Error(data.error || data.message || String(res.status));
  return data;
}
function render(item) {
  const prompt = $('prompt');
  prompt.replaceChildren();
  for (const m of item.prompt) {
    const row = document.createElement('div');
    row.className = 'msg';
    const role = document.createElement('span');
    role.className = 'role';
    role.textContent = m.role;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = m.content;
    row.append(role, text);
    prompt.append(row);
  }
  document.querySelector('[data-side="A"]').textContent = item.a;
  document.querySelector('[data-side="B"]').textContent = item.b;
}
async function load() {
  const who = annotator();
  current = null;
  if (who === '') {
    status('Type your name (top right) to start.', '');
    setBusy(false);
    $('annotator').focus();
    return;
  }
  setBusy(true);
  document.body.classList.add('waiting');
  const slow = setTimeout(() => status('Generating the candidates…', ''), 300);
  try {
    const item = await api('GET', '/api/next?annotator=' + encodeURIComponent(who));
    $('progress').textContent = item.done ? item.n + ' of ' + item.total + ' judged' : item.n + ' of ' + item.total;
    document.body.classList.toggle('finished', item.done);
    if (!item.done) {
      current = item;
      render(item);
    }
    // Hints and a failed earlier load are stale now; a vote's "Saved" line stays.
    if ($('status').className !== 'ok') status('', '');
  } catch (err) {
    status('Could not load the next pair: ' + err.message, 'error');
  } finally {
    clearTimeout(slow);
    document.body.classList.remove('waiting');
    setBusy(false);
  }
}
async function vote(choice) {
  if (busy || current === null) return;
  const body = { annotator: annotator(), pair_id: current.pair_id, choice };
  const written = $('written').value;
  if (written.trim() !== '') body.written = written;
  setBusy(true);
  try {
    const r = await api('POST', '/api/vote', body);
    $('written').value = '';
    status('Saved: ' + LABELS[choice] + (body.written ? ' (with your reply)' : '') + ' — vote ' + r.vote_id + '.', 'ok');
    await load();
  } catch (err) {
    status(err.message, 'error');
    setBusy(false);
  }
}
async function undo() {
  if (busy || annotator() === '') return;
  setBusy(true);
  try {
    const r = await api('POST', '/api/undo', { annotator: annotator() });
    status(r.undone === null ? 'Nothing to undo.' : 'Undone: the last vote is back for judging.', r.undone === null ? '' : 'ok');
    await load();
    if (r.written !== null) $('written').value = r.written;
  } catch (err) {
    status(err.message, 'error');
    setBusy(false);
  }
}
for (const el of document.querySelectorAll('button[data-choice]')) el.addEventListener('click', () => vote(el.dataset.choice));
$('undo').addEventListener('click', undo);
$('annotator').value = localStorage.getItem('llmforge-annotator') || '';
$('annotator').addEventListener('change', () => {
  localStorage.setItem('llmforge-annotator', annotator());
  load();
});
$('annotator').addEventListener('keydown', (e) => { if (e.key === 'Enter') e.target.blur(); });
document.addEventListener('keydown', (e) => {
  const t = e.target;
  const typing = t instanceof HTMLTextAreaElement || t instanceof HTMLInputElement;
  if (typing) {
    if (e.key === 'Escape') t.blur();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (CHOICES[e.key]) { e.preventDefault(); vote(CHOICES[e.key]); }
  else if (e.key === 'u' || e.key === 'U') { e.preventDefault(); undo(); }
});
load();
`;

export function feedbackPage(title: string): string {
  const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Which reply is better? · llmforge feedback</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <h1>Which reply is better?</h1>
  <span class="title">${esc(title)}</span>
  <label>Annotator <input id="annotator" autocomplete="username" maxlength="64" placeholder="your name"></label>
  <span id="progress" aria-live="polite"></span>
</header>
<main>
  <div id="item">
    <section class="card" aria-labelledby="prompt-h"><h2 id="prompt-h">Prompt</h2><div id="prompt"></div></section>
    <div class="sides">
      <section class="card side" aria-label="Reply A"><h2>A</h2><div class="reply text" data-side="A" tabindex="0"></div></section>
      <section class="card side" aria-label="Reply B"><h2>B</h2><div class="reply text" data-side="B" tabindex="0"></div></section>
    </div>
    <label for="written"><h2>Write a better reply (optional; it becomes the chosen reply)</h2></label>
    <textarea id="written" maxlength="20000" placeholder="A reply better than both, or a fixed version of the better one"></textarea>
  </div>
  <section id="done" class="card"><h2>Done</h2><p>Every prompt has your vote. Thank you! <kbd>u</kbd> or Undo takes back the last one.</p></section>
  <div class="actions">
    <button class="primary" data-choice="A" aria-keyshortcuts="1" disabled>A is better</button>
    <button class="primary" data-choice="B" aria-keyshortcuts="2" disabled>B is better</button>
    <button data-choice="tie" aria-keyshortcuts="3" disabled>Tie</button>
    <button data-choice="both_bad" aria-keyshortcuts="4" disabled>Both bad</button>
    <button data-choice="skip" aria-keyshortcuts="5" disabled>Skip</button>
    <button id="undo" aria-keyshortcuts="u" disabled>Undo</button>
  </div>
  <p class="keys">Keys: <kbd>1</kbd> A is better · <kbd>2</kbd> B is better · <kbd>3</kbd> Tie · <kbd>4</kbd> Both bad ·
    <kbd>5</kbd> Skip · <kbd>u</kbd> Undo · <kbd>Esc</kbd> leaves the text box</p>
  <p id="status" role="status" aria-live="polite"></p>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
