/** `llmforge dpo`: direct preference optimization of an SFT model on preference pairs. */
import { type Command, InvalidArgumentError } from 'commander';
import { commonFlags, configFromFlags, dpo, DPO_DEFAULTS, parseDpoConfig, type PrefTrainOpts } from '../align/index.js';
import { applyThreads, numberArg } from './options.js';
import { addPrefTrainOptions } from './pref-train.js';

interface Opts extends PrefTrainOpts {
  beta?: number;
  loss?: 'sigmoid' | 'ipo';
  sftWeight?: number;
}

function lossArg(v: string): 'sigmoid' | 'ipo' {
  if (v !== 'sigmoid' && v !== 'ipo') throw new InvalidArgumentError(`expected sigmoid or ipo, got '${v}'`);
  return v;
}

export function registerDpo(program: Command): void {
  const cmd = program
    .command('dpo')
    .description('direct preference optimization (Rafailov et al. 2023): push an SFT model towards the chosen replies of preference pairs');
  addPrefTrainOptions(cmd, { lr: DPO_DEFAULTS.optimizer.lr, batch: DPO_DEFAULTS.batch.microBatch, epochs: 1 })
    .option('--beta <x>', 'β: how strongly the policy is held to the reference (default 0.1)', numberArg(1e-6, 1e6))
    .option('--loss <kind>', 'sigmoid (DPO, default) or ipo (Azar et al. 2023)', lossArg)
    .option('--sft-weight <a>', 'add a × the chosen replies\' mean token NLL to the loss (TRL\'s rpo_alpha; default 0)', numberArg(0, 1e3))
    .action(async (o: Opts) => {
      if (!o.resume && o.initFrom === undefined) throw new Error('--init-from is required: the SFT run or checkpoint to start from');
      if (o.data === undefined) throw new Error('--data is required: preference pairs JSONL (llmforge prefs generate, llmforge feedback export)');
      const extra = [
        ...(o.beta !== undefined ? [{ flag: '--beta', path: 'dpo.beta', value: o.beta }] : []),
        ...(o.loss !== undefined ? [{ flag: '--loss', path: 'dpo.loss', value: o.loss }] : []),
        ...(o.sftWeight !== undefined ? [{ flag: '--sft-weight', path: 'dpo.sftWeight', value: o.sftWeight }] : []),
      ];
      const { config, notes } = configFromFlags(o, 'dpo', parseDpoConfig, commonFlags(o, 'dpo', extra));
      for (const n of notes) process.stderr.write(`${n}\n`);
      applyThreads(config.threads);
      const r = await dpo({ initFrom: o.initFrom ?? '', data: o.data, valData: o.valData, outDir: o.out, config, resume: o.resume, skipBadLines: o.skipBadLines });
      if (o.json) {
        process.stdout.write(`${JSON.stringify({
          command: 'dpo', steps: r.steps, epochs: r.epochs, pairs: r.pairs, held_out: r.heldOut, train_loss: r.finalTrainLoss, ...r.eval,
          checkpoint: r.checkpoint, seconds: r.seconds, reference_seconds: r.referenceSeconds,
        })}\n`);
      }
      const acc = r.eval.val_reward_accuracy;
      process.stderr.write(`done: ${r.steps} steps (${r.epochs.toFixed(2)} epochs) in ${r.seconds.toFixed(1)} s, train loss ${r.finalTrainLoss.toFixed(4)}` +
        `${acc !== undefined ? `, held-out reward accuracy ${(acc * 100).toFixed(1)}%` : ''}; checkpoint ${r.checkpoint}\n`);
    });
}
