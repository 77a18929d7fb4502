// Feedback endpoints: POST /feedback on the admin address and POST /_abproxy/feedback on the data
// plane. Reads a bounded JSON body, attributes the reward to a variant and counts it. Never proxies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { attribute, FeedbackError, parseFeedback, type Attributed } from '../feedback/attribute.js';
import type { ServedLookupFn } from '../cluster/served-lookup.js';
import type { ProxyError } from '../http/errors.js';
import { recordRejectedFeedback, recordReward } from '../metrics/feedback-metrics.js';
import { readBody } from '../server/body.js';
import type { LocalHandler } from '../server/exchange.js';
import { sendJson } from '../server/respond.js';
import type { RuntimeHolder } from '../server/runtime.js';
import type { AdminRoute } from './admin-server.js';

export const DATA_PLANE_FEEDBACK_PATH = '/_abproxy/feedback';

export interface FeedbackDeps {
  holder: RuntimeHolder;
  /** Which route and variant served a request id (in any cluster worker). */
  lookup: ServedLookupFn;
}

export function feedbackAdminRoute(deps: FeedbackDeps): AdminRoute {
  return { method: 'POST', path: '/feedback', handler: (req, res) => handleFeedback(deps, req, res) };
}

/** Takes POST /_abproxy/feedback on the data plane (405 for other methods); leaves every other path alone. */
export function feedbackLocalHandler(deps: FeedbackDeps): LocalHandler {
  return (req, res, target) => {
    if (target.path !== DATA_PLANE_FEEDBACK_PATH) return false;
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: `method ${req.method} not allowed on ${DATA_PLANE_FEEDBACK_PATH}`, code: 'ABPROXY_METHOD_NOT_ALLOWED' }, ['allow', 'POST', 'connection', 'close']);
      return true;
    }
    void handleFeedback(deps, req, res);
    return true;
  };
}

/** Resolves once answered; never rejects (an unexpected failure answers 500). */
async function handleFeedback(deps: FeedbackDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    await answerFeedback(deps, req, res);
  } catch (error) {
    if (res.headersSent) res.destroy();
    else sendJson(res, 500, { error: `feedback failed: ${(error as Error).message}`, code: 'ABPROXY_FEEDBACK_FAILED' });
  }
}

async function answerFeedback(deps: FeedbackDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const runtime = deps.holder.current;
  let attributed: Attributed;
  try {
    const body = await readBody(req, runtime.config.feedback.maxBodyBytes).catch((error: ProxyError) => {
      throw new FeedbackError(error.code, error.status, error.status === 413 ? 'too_large' : 'bad_request', error.message);
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new FeedbackError('ABPROXY_FEEDBACK_INVALID', 400, 'bad_request', 'body is not valid JSON');
    }
    const feedback = parseFeedback(parsed);
    const servedBy = feedback.variant === undefined && feedback.requestId !== undefined ? await deps.lookup(feedback.requestId) : undefined;
    attributed = attribute(feedback, runtime.routes, servedBy);
  } catch (error) {
    if (!(error instanceof FeedbackError)) throw error;
    recordRejectedFeedback(error.reason);
    const close = error.reason === 'too_large' ? ['connection', 'close'] : [];
    sendJson(res, error.status, { error: error.message, code: error.code }, close);
    return;
  }
  recordReward(attributed.route, attributed.variant, attributed.reward);
  sendJson(res, 200, attributed);
}
