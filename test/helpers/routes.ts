// Route configs that many suites share: the sticky champion/challenger "fraud" split on x-session-id.
import type { ConfigInput } from '../../src/config/schema.js';

type RouteInput = ConfigInput['routes'][number];

/** The fraud route, sticky on x-session-id, with champion and challenger at the given weights. */
export function fraudSplitRoute(championUrl: string, challengerUrl: string, championWeight = 90): RouteInput {
  return {
    name: 'fraud',
    match: { pathPrefix: '/v2/models/fraud' },
    sticky: [{ header: 'x-session-id' }],
    variants: [
      { name: 'champion', target: championUrl, weight: championWeight },
      { name: 'challenger', target: challengerUrl, weight: 100 - championWeight },
    ],
  };
}

/** A two-variant control/challenger route at /NAME, sticky on x-user. */
export function controlChallengerRoute(name: string, weights: [number, number], target: string): RouteInput {
  return {
    name,
    match: { pathPrefix: `/${name}` },
    sticky: [{ header: 'x-user' }],
    variants: [
      { name: 'control', target, weight: weights[0] },
      { name: 'challenger', target, weight: weights[1] },
    ],
  };
}
