/**
 * The chat page served at `GET /`: one self-contained HTML document (no build step, no
 * external files) that talks to /v1/chat/completions with streaming. Every piece of model or
 * user text is put in the page with textContent, never parsed as HTML; on top of that the
 * Content-Security-Policy allows only this page's own script and style (by hash), so even
 * injected markup could not run script.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root { --bg: #f6f7f9; --panel: #fff; --text: #1d2330; --muted: #677085; --line: #dde1e8; --accent: #2f6fde;
  --user: #e6efff; --bot: #fff; --danger: #c43d3d; color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { --bg: #14171c; --panel: #1c2027; --text: #e4e7ec; --muted: #98a0ae;
  --line: #2d333d; --accent: #6a9cff; --user: #223150; --bot: #1c2027; --danger: #ff7b7b; } }
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--text);
  display: grid; grid-template-rows: auto 1fr auto; }
header { display: flex; align-items: center; gap: 12px; padding: 10px 18px; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { font-size: 16px; margin: 0; font-weight: 650; }
header .model { color: var(--muted); font-size: 13px; font-family: ui-monospace, monospace; }
header .spacer { flex: 1; }
button { font: inherit; border: 1px solid var(--line); background: var(--panel); color: var(--text); border-radius: 8px;
  padding: 6px 12px; cursor: pointer; }
button:hover { border-color: var(--accent); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
button:disabled { opacity: .5; cursor: default; }
.layout { display: grid; grid-template-columns: 1fr 290px; min-height: 0; }
#messages { overflow-y: auto; padding: 20px max(18px, calc(50% - 400px)); display: flex; flex-direction: column; gap: 14px; }
.empty { color: var(--muted); text-align: center; margin-top: 18vh; }
.msg { max-width: 100%; border: 1px solid var(--line); border-radius: 12px; padding: 10px 14px; background: var(--bot); }
.msg[data-role="user"] { background: var(--user); align-self: flex-end; max-width: 85%; }
.msg .who { font-size: 12px; color: var(--muted); margin-bottom: 2px; display: flex; gap: 8px; align-items: center; }
.msg .who .tools { margin-left: auto; }
.msg .who button { font-size: 12px; padding: 1px 8px; }
.msg .text { white-space: pre-wrap; overflow-wrap: anywhere; }
.msg.streaming .text::after { content: "\\258D"; animation: blink 1s steps(1) infinite; color: var(--accent); }
.msg .note { font-size: 12px; color: var(--muted); margin-top: 4px; }
.msg.error .note { color: var(--danger); }
@keyframes blink { 50% { opacity: 0; } }
aside { border-left: 1px solid var(--line); background: var(--panel); padding: 16px; overflow-y: auto; }
aside h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 12px; }
label { display: block; font-size: 13px; margin: 14px 0 4px; color: var(--muted); }
textarea, input { font: inherit; color: var(--text); background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 8px; width: 100%; }
textarea:focus, input:focus { outline: 2px solid var(--accent); outline-offset: -1px; }
.row { display: flex; gap: 8px; align-items: center; }
.row input[type=range] { flex: 1; padding: 0; }
.row input[type=number] { width: 80px; }
footer { border-top: 1px solid var(--line); background: var(--panel); padding: 12px max(18px, calc(50% - 545px)); }
.composer { display: flex; gap: 10px; align-items: flex-end; }
#input { resize: none; min-height: 44px; max-height: 200px; }
#status { font-size: 12px; color: var(--muted); min-height: 18px; margin-top: 6px; }
.layout.hide-settings { grid-template-columns: 1fr; }
.layout.hide-settings aside { display: none; }
@media (max-width: 760px) { .layout { grid-template-columns: 1fr; } aside { display: none; }
  .layout.show-settings aside { display: block; border-left: 0; border-bottom: 1px solid var(--line); } .layout.show-settings #messages { display: none; } }
`;

const SCRIPT = `
"use strict";
const cfg = JSON.parse(document.getElementById("config").textContent);
const $ = (id) => document.getElementById(id);
const messagesEl = $("messages"), input = $("input"), sendBtn = $("send"), stopBtn = $("stop"), statusEl = $("status");
const systemEl = $("system"), tempEl = $("temperature"), tempNum = $("temperature-value"), maxEl = $("max-tokens"), keyEl = $("api-key");
$("model").textContent = cfg.model;
document.title = "llmforge chat · " + cfg.model;
if (cfg.auth) $("key-field").hidden = false;
let history = [];
let controller = null;

const saved = JSON.parse(localStorage.getItem("llmforge-chat") || "{}");
systemEl.value = saved.system || "";
tempEl.value = tempNum.value = saved.temperature != null ? saved.temperature : 0.8;
maxEl.value = saved.maxTokens || cfg.defaultMaxTokens;
maxEl.max = String(cfg.contextLength - 1);
keyEl.value = sessionStorage.getItem("llmforge-key") || "";
function save() {
  localStorage.setItem("llmforge-chat", JSON.stringify({ system: systemEl.value, temperature: Number(tempEl.value), maxTokens: Number(maxEl.value) }));
  sessionStorage.setItem("llmforge-key", keyEl.value);
}
tempEl.addEventListener("input", () => { tempNum.value = tempEl.value; save(); });
tempNum.addEventListener("input", () => { tempEl.value = tempNum.value; save(); });
for (const el of [systemEl, maxEl, keyEl]) el.addEventListener("input", save);

function addMessage(role, text) {
  $("empty").hidden = true;
  const box = document.createElement("div");
  box.className = "msg";
  box.dataset.role = role;
  const who = document.createElement("div");
  who.className = "who";
  const name = document.createElement("span");
  name.textContent = role === "user" ? "You" : "Assistant";
  who.append(name);
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  const note = document.createElement("div");
  note.className = "note";
  if (role === "assistant") {
    const tools = document.createElement("span");
    tools.className = "tools";
    const copy = document.createElement("button");
    copy.type = "button";
    copy.textContent = "Copy";
    copy.title = "Copy this reply";
    copy.addEventListener("click", () => copyText(body.textContent, copy));
    tools.append(copy);
    who.append(tools);
  }
  box.append(who, body, note);
  messagesEl.append(box);
  messagesEl.scrollTop = messagesEl.scrollHeight;
  return { box, body, note };
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const t = document.createElement("textarea");
    t.value = text;
    document.body.append(t);
    t.select();
    document.execCommand("copy");
    t.remove();
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 1200);
}

function setBusy(busy) {
  sendBtn.hidden = busy;
  stopBtn.hidden = !busy;
  input.disabled = false;
}

function errorText(status, raw) {
  try {
    const e = JSON.parse(raw).error;
    return e.message + (e.code ? " (" + e.code + ")" : "");
  } catch {
    return "HTTP " + status;
  }
}

async function send() {
  const text = input.value.trim();
  if (text === "" || controller !== null) return;
  input.value = "";
  autosize();
  addMessage("user", text);
  history.push({ role: "user", content: text });
  const out = addMessage("assistant", "");
  out.box.classList.add("streaming");
  const messages = (systemEl.value.trim() ? [{ role: "system", content: systemEl.value }] : []).concat(history);
  const body = { model: cfg.model, messages, stream: true, stream_options: { include_usage: true },
    temperature: Number(tempEl.value), max_tokens: Number(maxEl.value) };
  const headers = { "content-type": "application/json" };
  if (keyEl.value) headers.authorization = "Bearer " + keyEl.value;
  controller = new AbortController();
  setBusy(true);
  statusEl.textContent = "Generating…";
  const t0 = performance.now();
  let reply = "", finish = null, usage = null, failed = null;
  try {
    const res = await fetch("/v1/chat/completions", { method: "POST", headers, body: JSON.stringify(body), signal: controller.signal });
    if (!res.ok) {
      failed = errorText(res.status, await res.text());
    } else {
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf("\\n\\n")) >= 0) {
          const event = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          for (const line of event.split("\\n")) {
            if (!line.startsWith("data: ")) continue;
            const data = line.slice(6);
            if (data === "[DONE]") continue;
            const chunk = JSON.parse(data);
            if (chunk.error) { failed = chunk.error.message; continue; }
            if (chunk.usage) usage = chunk.usage;
            for (const c of chunk.choices || []) {
              if (c.delta && typeof c.delta.content === "string" && c.delta.content !== "") {
                reply += c.delta.content;
                out.body.textContent = reply;
                messagesEl.scrollTop = messagesEl.scrollHeight;
              }
              if (c.finish_reason) finish = c.finish_reason;
            }
          }
        }
      }
    }
  } catch (err) {
    if (err.name === "AbortError") finish = "stopped";
    else failed = String(err.message || err);
  }
  out.box.classList.remove("streaming");
  const secs = (performance.now() - t0) / 1000;
  if (failed !== null) {
    out.box.classList.add("error");
    out.note.textContent = failed;
    history.pop();
    statusEl.textContent = "Error";
  } else {
    history.push({ role: "assistant", content: reply });
    const n = usage ? usage.completion_tokens : null;
    out.note.textContent = finish === "stopped" ? "Stopped." : finish === "length" ? "Cut at the token limit." : "";
    statusEl.textContent = n !== null ? n + " tokens in " + secs.toFixed(1) + " s (" + (n / secs).toFixed(1) + " tokens/s)" : "";
  }
  controller = null;
  setBusy(false);
  input.focus();
}

function stop() {
  if (controller !== null) controller.abort();
}

function newChat() {
  stop();
  history = [];
  for (const m of messagesEl.querySelectorAll(".msg")) m.remove();
  $("empty").hidden = false;
  statusEl.textContent = "";
  input.focus();
}

function autosize() {
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 200) + "px";
}

input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
input.addEventListener("input", autosize);
sendBtn.addEventListener("click", send);
stopBtn.addEventListener("click", stop);
$("new-chat").addEventListener("click", newChat);
$("settings-toggle").addEventListener("click", () => {
  const narrow = window.matchMedia("(max-width: 760px)").matches;
  $("layout").classList.toggle(narrow ? "show-settings" : "hide-settings");
});
input.focus();
`;

const hash = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

export interface Page {
  html: string;
  headers: Record<string, string>;
}

/** JSON for a <script type="application/json"> block: nothing in it can close the element. */
const safeJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

export function chatPage(modelId: string, auth: boolean, contextLength: number): Page {
  const config = { model: modelId, auth, contextLength, defaultMaxTokens: Math.max(1, Math.min(256, Math.floor(contextLength / 2))) };
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>llmforge chat</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>llmforge</h1><span class="model" id="model"></span>
  <span class="spacer"></span>
  <button type="button" id="settings-toggle" title="Show or hide the settings">Settings</button>
  <button type="button" id="new-chat" title="Forget this conversation">New chat</button>
</header>
<div class="layout" id="layout">
  <main id="messages" aria-live="polite">
    <div class="empty" id="empty">Send a message to start. Enter sends, Shift+Enter adds a new line.</div>
  </main>
  <aside id="settings">
    <h2>Settings</h2>
    <label for="system">System prompt</label>
    <textarea id="system" rows="5" placeholder="You are a helpful assistant."></textarea>
    <label for="temperature">Temperature</label>
    <div class="row"><input id="temperature" type="range" min="0" max="2" step="0.05"><input id="temperature-value" type="number" min="0" max="2" step="0.05" aria-label="Temperature value"></div>
    <label for="max-tokens">Max tokens</label>
    <input id="max-tokens" type="number" min="1" step="1">
    <div id="key-field" hidden>
      <label for="api-key">API key</label>
      <input id="api-key" type="password" autocomplete="off" placeholder="the server's --api-key">
    </div>
  </aside>
</div>
<footer>
  <div class="composer">
    <textarea id="input" rows="1" placeholder="Message the model (Enter to send, Shift+Enter for a new line)" aria-label="Message"></textarea>
    <button type="button" class="primary" id="send">Send</button>
    <button type="button" class="danger" id="stop" hidden>Stop</button>
  </div>
  <div id="status" role="status"></div>
</footer>
<script id="config" type="application/json">${safeJson(config)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
  return {
    html,
    headers: {
      'content-security-policy': `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; ` +
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    },
  };
}
