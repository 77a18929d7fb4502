// Questions one cluster worker puts to all the others through the primary: the primary hands the question to
// every other listening worker and replies with their answers (all of them, or the first there is), or with
// what arrived by the asker's deadline. Feedback's request-id lookups and a weight change applied in every
// worker before the admin API answers both go this way. Only small JSON travels. The asker counts every other
// worker whose answer it needed and did not get by the deadline, so a miss is never silent.
import type { Worker } from 'node:cluster';
import { clusterAnswersMissedTotal } from '../metrics/registry.js';
import { FANOUT_ANSWER, FANOUT_ASK, FANOUT_QUESTION, FANOUT_REPLY, isClusterMessage, type FanoutAnswer, type FanoutAsk, type FanoutQuestion, type FanoutReply, type WorkerQuestion } from './messages.js';
import { PendingReplies } from './pending-replies.js';
import { currentShare } from './share.js';

/** How long the worker waits beyond the primary's deadline for the reply itself. */
const REPLY_SLACK_MS = 200;

type Handler = (question: WorkerQuestion) => unknown;
const handlers = new Map<WorkerQuestion['kind'], Handler>();
type Replied = Pick<FanoutReply, 'answers' | 'answered'>;
const replies = new PendingReplies<Replied>();
let listening = false;

function listen(): void {
  if (listening) return;
  listening = true;
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.type === FANOUT_QUESTION) {
      const handler = handlers.get(message.question.kind);
      const answer = handler ? handler(message.question) : undefined;
      process.send?.({ type: FANOUT_ANSWER, id: message.id, slot: currentShare().slot, ...(answer === undefined ? {} : { answer }) } satisfies FanoutAnswer);
    } else if (message.type === FANOUT_REPLY) replies.settle(message.id, message);
  });
}

/**
 * Answers the other workers' questions of one kind (undefined: no answer from this worker). Every worker takes
 * part in each kind it answers, so that kind's count of missed answers starts at zero here.
 */
export function answerQuestions<K extends WorkerQuestion['kind']>(kind: K, handler: (question: Extract<WorkerQuestion, { kind: K }>) => unknown): void {
  listen();
  handlers.set(kind, handler as Handler);
  clusterAnswersMissedTotal.inc({ question: kind }, 0);
}

export interface FanoutResult {
  answers: unknown[];
  /** Slots of the other workers whose answer was needed and did not come within timeoutMs (busy, stopped, or restarting). */
  unanswered: number[];
}

/**
 * The other workers' answers to `question`: the first one (`first`), or all that arrive within timeoutMs. Once
 * a first answer is in, the others are not needed; otherwise every other worker that did not answer is counted.
 */
export async function askOtherWorkers(question: WorkerQuestion, options: { first: boolean; timeoutMs: number }): Promise<FanoutResult> {
  listen();
  const send = (id: number) => process.send?.({ type: FANOUT_ASK, id, question, first: options.first, timeoutMs: options.timeoutMs } satisfies FanoutAsk);
  // No reply from the primary by then: no answer from anyone.
  const { answers, answered } = await replies.ask(send, options.timeoutMs + REPLY_SLACK_MS, { answers: [], answered: [] });
  const { slot: own, count } = currentShare();
  const settled = options.first && answers.length > 0;
  const unanswered = settled ? [] : Array.from({ length: count }, (_, slot) => slot).filter((slot) => slot !== own && !answered.includes(slot));
  clusterAnswersMissedTotal.inc({ question: question.kind }, unanswered.length);
  return { answers, unanswered };
}

interface Pending {
  asker: Worker;
  askerId: number;
  first: boolean;
  waiting: Set<number>;
  answers: unknown[];
  answered: number[];
  timer: NodeJS.Timeout;
}

/** The primary's side: hands each question to the other workers and sends back their answers. */
export class FanoutRelay {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  onAsk(asker: Worker, ask: FanoutAsk, workers: readonly Worker[]): void {
    const id = this.#nextId++;
    const timer = setTimeout(() => this.#reply(id), ask.timeoutMs).unref();
    const pending: Pending = { asker, askerId: ask.id, first: ask.first, waiting: new Set(), answers: [], answered: [], timer };
    this.#pending.set(id, pending);
    const question: FanoutQuestion = { type: FANOUT_QUESTION, id, question: ask.question };
    for (const worker of workers) {
      if (worker.id === asker.id || !worker.isConnected()) continue;
      pending.waiting.add(worker.id);
      worker.send(question, (error: Error | null) => {
        if (error) this.forget(worker.id);
      });
    }
    if (pending.waiting.size === 0) this.#reply(id);
  }

  onAnswer(worker: Worker, answer: FanoutAnswer): void {
    const pending = this.#pending.get(answer.id);
    if (!pending?.waiting.delete(worker.id)) return;
    pending.answered.push(answer.slot);
    if (answer.answer !== undefined) pending.answers.push(answer.answer);
    if ((pending.first && pending.answers.length > 0) || pending.waiting.size === 0) this.#reply(answer.id);
  }

  /** A worker exited: questions stop waiting for it, and its own questions are dropped. */
  forget(workerId: number): void {
    for (const [id, pending] of this.#pending) {
      if (pending.asker.id === workerId) {
        clearTimeout(pending.timer);
        this.#pending.delete(id);
      } else if (pending.waiting.delete(workerId) && pending.waiting.size === 0) this.#reply(id);
    }
  }

  #reply(id: number): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (pending.asker.isConnected()) pending.asker.send({ type: FANOUT_REPLY, id: pending.askerId, answers: pending.answers, answered: pending.answered } satisfies FanoutReply);
  }
}
