/**
 * `llmforge chat`: an interactive REPL over a checkpoint, in the chat template. Each line you
 * type is a user turn; the assistant's reply streams back and ends at <|end|>. History is
 * kept within the context (the oldest turns are dropped, and the REPL says so). /reset
 * forgets it, /system TEXT sets the system prompt, /exit (or end of input, or Ctrl-D) quits,
 * Ctrl-C stops a reply. Reads piped stdin too: one message per line, then exits cleanly.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ChatSession } from '../infer/chat.js';
import { InferenceEngine } from '../infer/engine.js';
import { loadForGeneration } from '../infer/load.js';
import { Utf8Watch } from '../util/utf8-watch.js';
import { applyConfigFile } from './data.js';
import { addSamplingOptions, generationFromFlags, requireModel, type SamplingCliOptions } from './generate.js';
import { applyThreads } from './options.js';

const HELP = 'commands: /reset (forget the conversation), /system TEXT (set the system prompt; /system alone removes it), /exit (quit), /help';

interface ChatCliOptions extends SamplingCliOptions {
  system?: string;
}

export function registerChat(program: Command): void {
  const cmd = program
    .command('chat')
    .description('interactive chat REPL in the chat template, with streaming output (reads piped stdin too)');
  addSamplingOptions(cmd, { maxTokens: 128, overflow: 'stop' })
    .option('--system <text>', 'system prompt')
    .action(async (o: ChatCliOptions, command: Command) => {
      if (o.config) applyConfigFile(command, o.config);
      o = command.opts<ChatCliOptions>();
      const modelPath = requireModel(o);
      applyThreads(o.threads);
      const loaded = await loadForGeneration(modelPath, o.tokenizer, undefined, o.adapter);
      const opts = generationFromFlags(o, loaded, true);
      const engine = new InferenceEngine(loaded.model);
      let session: ChatSession;
      try {
        session = new ChatSession(engine, loaded.tokenizer, opts, { system: o.system });
      } catch (err) {
        throw new Error(`${loaded.dir}: ${(err as Error).message}`);
      }
      const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
      await runChatRepl(session, { input: process.stdin, output: process.stdout, errors: process.stderr, tty },
        `${loaded.dir} (context ${loaded.model.config.contextLength} tokens)`);
    });
}

export interface ReplIO {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  errors: NodeJS.WritableStream;
  /** Interactive terminal: prompts, banner, Ctrl-C handling. */
  tty: boolean;
}

/** The REPL loop over any streams (the CLI passes stdin/stdout; tests pass their own). */
export async function runChatRepl(session: ChatSession, io: ReplIO, what = ''): Promise<void> {
  const { output: out, errors: err, tty } = io;
  const rl = createInterface({ input: io.input, output: tty ? out : undefined, terminal: tty });
  // readline replaces invalid UTF-8 with U+FFFD without a word: watch the same bytes and say so once.
  const utf8 = new Utf8Watch((m) => err.write(`llmforge: warning: ${m}\n`));
  io.input.on('data', (chunk: Uint8Array | string) => utf8.push(chunk));
  io.input.on('end', () => utf8.end());
  let generating: AbortController | null = null;
  rl.on('SIGINT', () => {
    if (generating !== null) generating.abort();
    else rl.close();
  });
  if (tty) {
    err.write(`llmforge chat: ${what}. ${HELP}\n`);
    rl.setPrompt('> ');
    rl.prompt();
  }
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === '/exit' || line === '/quit') break;
    if (line === '/reset') {
      session.reset();
      err.write('(conversation cleared)\n');
    } else if (line === '/system' || line.startsWith('/system ')) {
      const text = line.slice('/system'.length).trim();
      session.setSystem(text);
      err.write(text.length > 0 ? '(system prompt set)\n' : '(system prompt removed)\n');
    } else if (line === '/help') {
      err.write(`${HELP}\n`);
    } else if (line.startsWith('/')) {
      err.write(`unknown command ${line.split(/\s/)[0]}; ${HELP}\n`);
    } else if (line.length > 0) {
      generating = new AbortController();
      try {
        const r = await session.reply(raw, (t) => out.write(t), generating.signal);
        out.write('\n');
        if (r.droppedTurns > 0) err.write(`(the ${r.droppedTurns} oldest message(s) were dropped to fit the context of ${session.capacity} tokens)\n`);
        if (r.finishReason === 'context') err.write('(reply stopped at the context limit)\n');
        if (r.finishReason === 'length') err.write(`(reply cut at --max-tokens ${session.options.maxNewTokens})\n`);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        err.write(`(${e.message})\n`);
      } finally {
        generating = null;
      }
    }
    if (tty) rl.prompt();
  }
  rl.close();
}
