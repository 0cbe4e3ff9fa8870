/** The llmforge command line. Each stage of the flow registers its commands here. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerTokenizer } from './tokenizer.js';
import { registerGenerate } from './generate.js';
import { registerChat } from './chat.js';
import { registerData } from './data.js';
import { registerTrain } from './train.js';
import { registerQuickstart } from './quickstart.js';
import { registerFeedback } from './feedback.js';
import { registerExport } from './export.js';
import { registerImport } from './import.js';
import { exitQuietlyOnClosedStdout, isClosedPipe } from '../util/stdout.js';
import { registerServe } from './serve.js';
import { registerEval } from './eval.js';
import { registerSft } from './sft.js';
import { registerDpo } from './dpo.js';
import { registerPrefs } from './prefs.js';
import { registerReward } from './reward.js';
import { registerFinetune } from './finetune.js';
import { registerRun } from './run.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('llmforge')
    .description('Raw text to a language model you can talk to, serve and ship.')
    .version(packageVersion())
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerTokenizer(program);
  registerData(program);
  registerTrain(program);
  registerGenerate(program);
  registerChat(program);
  registerExport(program);
  registerImport(program);
  registerServe(program);
  registerSft(program);
  registerPrefs(program);
  registerDpo(program);
  registerReward(program);
  registerEval(program);
  registerFinetune(program);
  registerBench(program);
  registerQuickstart(program);
  registerFeedback(program);
  registerRun(program);
  return program;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedStdout();
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    // A write awaited on a stdout whose reader went away (`| head`): end quietly.
    if (isClosedPipe(err)) process.exit(0);
    throw err;
  }
}
