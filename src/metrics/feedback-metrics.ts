// Feedback accounting: a reward adds to the per-variant histogram (count, sum), the sum of squares and,
// when it is not exactly 0 or 1, the non-binary counter. Never throws into the caller.
import { feedbackNonBinaryTotal, feedbackRejectedTotal, feedbackReward, feedbackRewardSquares } from './registry.js';
import type { FeedbackRejection } from '../feedback/attribute.js';

export function recordReward(route: string, variant: string, reward: number): void {
  const labels = { route, variant };
  feedbackReward.observe(labels, reward);
  feedbackRewardSquares.inc(labels, reward * reward);
  feedbackNonBinaryTotal.inc(labels, reward === 0 || reward === 1 ? 0 : 1);
}

export function recordRejectedFeedback(reason: FeedbackRejection): void {
  feedbackRejectedTotal.inc({ reason });
}
