/** Evaluation: the chat suite (format, accuracy per task, refusals, assistant-token loss) and the base suite (val loss, bits per byte). */
export {
  evalChat, assistantLoss, splitExample, exampleKind, pointsToHelp, HARMFUL_TASKS, BENIGN_TASK,
  type ChatEvalOptions, type ChatEvalReport, type ExampleVerdict, type ExampleKind, type TaskScore,
} from './chat.js';
export { evalBase, type BaseEvalReport } from './base.js';
export { greedyReplies, type GreedyReply, type GreedyOptions, type ReplyEnd } from './decode.js';
export { normalise, isCorrect, isRefusal, ANSWER_SLACK_WORDS } from './score.js';
export { defaultHeldout } from './heldout.js';
