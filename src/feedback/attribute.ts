// Feedback attribution: which variant a reward belongs to. Explicit variant first, then the variant
// that served the named request id (looked up by the caller), then the variant the sticky key hashes to. Pure.
import { variantForKey } from '../routing/assign.js';
import type { RouteTable } from '../routing/route-table.js';
import type { ServedBy } from './request-variants.js';

export type FeedbackRejection = 'bad_request' | 'too_large' | 'unknown_route' | 'unknown_variant' | 'unknown_request_id';

/** A refused feedback: `code` for clients, `reason` for the rejection counter, and the HTTP status. */
export class FeedbackError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly reason: FeedbackRejection,
    message: string,
  ) {
    super(message);
  }
}

export interface Feedback {
  route: string;
  reward: number;
  variant?: string;
  requestId?: string;
  key?: string;
}

export interface Attributed {
  route: string;
  variant: string;
  reward: number;
  attributedBy: 'variant' | 'requestId' | 'key';
}

const FIELDS = new Set(['route', 'reward', 'variant', 'requestId', 'key']);
const MAX_TEXT = 1024;

function badRequest(message: string): FeedbackError {
  return new FeedbackError('ABPROXY_FEEDBACK_INVALID', 400, 'bad_request', message);
}

/** Validates a parsed JSON body as `{route, reward, requestId? | key? | variant?}`. */
export function parseFeedback(value: unknown): Feedback {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('body must be a JSON object {route, reward, requestId? | key? | variant?}');
  const body = value as Record<string, unknown>;
  for (const field of Object.keys(body)) if (!FIELDS.has(field)) throw badRequest(`unknown field "${field}"`);
  const text = (field: string): string | undefined => {
    const v = body[field];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT) throw badRequest(`${field} must be a non-empty string of at most ${MAX_TEXT} characters`);
    return v;
  };
  const route = text('route');
  if (route === undefined) throw badRequest('route is required');
  const reward = body.reward;
  if (typeof reward !== 'number' || !Number.isFinite(reward)) throw badRequest('reward must be a finite number');
  const feedback: Feedback = { route, reward };
  const variant = text('variant');
  const requestId = text('requestId');
  const key = text('key');
  if (variant !== undefined) feedback.variant = variant;
  if (requestId !== undefined) feedback.requestId = requestId;
  if (key !== undefined) feedback.key = key;
  if (variant === undefined && requestId === undefined && key === undefined) throw badRequest('one of variant, requestId or key is required to attribute the reward');
  return feedback;
}

/** `servedBy`: what served `feedback.requestId`, as the caller looked it up (undefined: not found, or no id). */
export function attribute(feedback: Feedback, routes: RouteTable, servedBy: ServedBy | undefined): Attributed {
  const route = routes.byName.get(feedback.route);
  if (!route) throw new FeedbackError('ABPROXY_UNKNOWN_ROUTE', 400, 'unknown_route', `no route named "${feedback.route}"`);
  const base = { route: route.name, reward: feedback.reward };
  if (feedback.variant !== undefined) {
    if (!route.variantByName.has(feedback.variant)) {
      throw new FeedbackError('ABPROXY_UNKNOWN_VARIANT', 400, 'unknown_variant', `route "${route.name}" has no variant "${feedback.variant}"`);
    }
    return { ...base, variant: feedback.variant, attributedBy: 'variant' };
  }
  if (feedback.requestId !== undefined) {
    if (!servedBy || servedBy.route !== route.name) {
      throw new FeedbackError(
        'ABPROXY_UNKNOWN_REQUEST_ID',
        404,
        'unknown_request_id',
        `request id "${feedback.requestId}" is not known on route "${route.name}": it was never served here, or it is older than the last feedback.requestIdCacheSize requests; send variant or key instead`,
      );
    }
    return { ...base, variant: servedBy.variant, attributedBy: 'requestId' };
  }
  return { ...base, variant: variantForKey(route, feedback.key ?? '').name, attributedBy: 'key' };
}
