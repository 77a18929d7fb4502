// Questions one cluster worker puts to all the others through the primary: the primary hands the question to
// every other listening worker and replies with their answers (all of them, or the first there is), or with
// what arrived by the asker's deadline. Feedback's request-id lookups and a weight change applied in every
// worker before the admin API answers both go this way. Only small JSON travels.
import type { Worker } from 'node:cluster';
import { FANOUT_ANSWER, FANOUT_ASK, FANOUT_QUESTION, FANOUT_REPLY, isClusterMessage, type FanoutAnswer, type FanoutAsk, type FanoutQuestion, type FanoutReply, type WorkerQuestion } from './messages.js';
import { PendingReplies } from './pending-replies.js';

/** How long the worker waits beyond the primary's deadline for the reply itself. */
const REPLY_SLACK_MS = 200;

type Handler = (question: WorkerQuestion) => unknown;
const handlers = new Map<WorkerQuestion['kind'], Handler>();
const replies = new PendingReplies<unknown[]>();
let listening = false;

function listen(): void {
  if (listening) return;
  listening = true;
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.type === FANOUT_QUESTION) {
      const handler = handlers.get(message.question.kind);
      const answer = handler ? handler(message.question) : undefined;
      process.send?.({ type: FANOUT_ANSWER, id: message.id, ...(answer === undefined ? {} : { answer }) } satisfies FanoutAnswer);
    } else if (message.type === FANOUT_REPLY) replies.settle(message.id, message.answers);
  });
}

/** Answers the other workers' questions of one kind (undefined: no answer from this worker). */
export function answerQuestions<K extends WorkerQuestion['kind']>(kind: K, handler: (question: Extract<WorkerQuestion, { kind: K }>) => unknown): void {
  listen();
  handlers.set(kind, handler as Handler);
}

/** The other workers' answers to `question`: the first one (`first`), or all that arrive within timeoutMs. */
export function askOtherWorkers(question: WorkerQuestion, options: { first: boolean; timeoutMs: number }): Promise<unknown[]> {
  listen();
  const send = (id: number) => process.send?.({ type: FANOUT_ASK, id, question, first: options.first, timeoutMs: options.timeoutMs } satisfies FanoutAsk);
  return replies.ask(send, options.timeoutMs + REPLY_SLACK_MS, []);
}

interface Pending {
  asker: Worker;
  askerId: number;
  first: boolean;
  waiting: Set<number>;
  answers: unknown[];
  timer: NodeJS.Timeout;
}

/** The primary's side: hands each question to the other workers and sends back their answers. */
export class FanoutRelay {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  onAsk(asker: Worker, ask: FanoutAsk, workers: readonly Worker[]): void {
    const id = this.#nextId++;
    const timer = setTimeout(() => this.#reply(id), ask.timeoutMs).unref();
    const pending: Pending = { asker, askerId: ask.id, first: ask.first, waiting: new Set(), answers: [], timer };
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
    if (pending.asker.isConnected()) pending.asker.send({ type: FANOUT_REPLY, id: pending.askerId, answers: pending.answers } satisfies FanoutReply);
  }
}
