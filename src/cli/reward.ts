/** `llmforge reward train`: a reward model (the SFT model plus a scalar head) on preference pairs. */
import type { Command } from 'commander';
import { commonFlags, configFromFlags, parseRewardConfig, REWARD_DEFAULTS, rewardTrain, type PrefTrainOpts } from '../align/index.js';
import { applyThreads } from './options.js';
import { addPrefTrainOptions } from './pref-train.js';

export function registerReward(program: Command): void {
  const reward = program.command('reward').description('reward models: a scalar score of a reply, learnt from preference pairs');
  const cmd = reward
    .command('train')
    .description('train a reward model (scalar head on the last token, Bradley–Terry loss) from an SFT model; held-out pair accuracy is logged');
  addPrefTrainOptions(cmd, { lr: REWARD_DEFAULTS.optimizer.lr, batch: REWARD_DEFAULTS.batch.microBatch, epochs: 1 })
    .action(async (o: PrefTrainOpts) => {
      if (!o.resume && o.initFrom === undefined) throw new Error('--init-from is required: the SFT run or checkpoint to start from');
      if (o.data === undefined) throw new Error('--data is required: preference pairs JSONL (llmforge prefs generate, llmforge feedback export)');
      const { config, notes } = configFromFlags(o, 'reward', parseRewardConfig, commonFlags(o, 'reward'));
      for (const n of notes) process.stderr.write(`${n}\n`);
      applyThreads(config.threads);
      const r = await rewardTrain({ initFrom: o.initFrom ?? '', data: o.data, valData: o.valData, outDir: o.out, config, resume: o.resume, skipBadLines: o.skipBadLines });
      if (o.json) {
        process.stdout.write(`${JSON.stringify({
          command: 'reward train', steps: r.steps, pairs: r.pairs, held_out: r.heldOut, train_loss: r.finalTrainLoss, val_accuracy: r.accuracy,
          checkpoint: r.checkpoint, seconds: r.seconds,
        })}\n`);
      }
      process.stderr.write(`done: ${r.steps} steps in ${r.seconds.toFixed(1)} s, train loss ${r.finalTrainLoss.toFixed(4)}` +
        `${r.accuracy !== null ? `, held-out pair accuracy ${(r.accuracy * 100).toFixed(1)}%` : ''}; checkpoint ${r.checkpoint}\n` +
        `try: llmforge generate --chat --model SFT --best-of 4 --reward-model ${o.out} --prompt "..."\n`);
    });
}
