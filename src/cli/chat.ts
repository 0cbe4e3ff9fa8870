/**
 * `llmforge chat`: an interactive REPL over a checkpoint. Each line you type is added to the
 * conversation and the model's continuation streams back; history is kept within the
 * context. /reset forgets it, /exit (or end of input, or Ctrl-D) quits, Ctrl-C stops a reply.
 * Reads piped stdin too: one message per line, then exits cleanly at the end of input.
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

const HELP = 'commands: /reset (forget the conversation), /exit (quit), /help';

export function registerChat(program: Command): void {
  const cmd = program
    .command('chat')
    .description('interactive chat REPL with streaming output (reads piped stdin too)');
  addSamplingOptions(cmd, { maxTokens: 128, overflow: 'stop' })
    .action(async (o: SamplingCliOptions, command: Command) => {
      if (o.config) applyConfigFile(command, o.config);
      o = command.opts<SamplingCliOptions>();
      const modelPath = requireModel(o);
      applyThreads(o.threads);
      const loaded = await loadForGeneration(modelPath, o.tokenizer);
      const opts = generationFromFlags(o, loaded);
      const engine = new InferenceEngine(loaded.model);
      const session = new ChatSession(engine, loaded.tokenizer, opts, { documentStart: o.bos ? loaded.documentStart : null });
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
    } else if (line === '/help') {
      err.write(`${HELP}\n`);
    } else if (line.startsWith('/')) {
      err.write(`unknown command ${line.split(/\s/)[0]}; ${HELP}\n`);
    } else if (line.length > 0) {
      generating = new AbortController();
      const r = await session.reply(raw, (t) => out.write(t), generating.signal);
      generating = null;
      out.write('\n');
      if (r.droppedTurns > 0) err.write(`(the ${r.droppedTurns} oldest turn(s) left the context)\n`);
      if (r.finishReason === 'context') err.write('(reply stopped at the context limit)\n');
    }
    if (tty) rl.prompt();
  }
  rl.close();
}
