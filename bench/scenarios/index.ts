// Every benchmark scenario, in the order they run and print. Add a scenario: one file in this folder
// exporting a Scenario, plus one line here.
import type { Scenario } from '../lib/types.js';
import { abproxySplit } from './abproxy-split.js';
import { direct } from './direct.js';
import { nginxSplit } from './nginx-split.js';
import { nodeFloor, nodeFloorShadow1w, nodeFloorShadow2w } from './node-floor.js';
import { nginxSplit2w } from './nginx-split-2w.js';
import { nginxMirror1w, nginxMirror2w } from './nginx-mirror.js';
import { abproxyShadow1w, abproxyShadow2w, abproxyShadowYield, abproxySplit2w } from './abproxy-cluster.js';
import { modelHeavy, modelHeavyBatched, modelLocal, modelRemote } from './model-inference.js';

export const scenarios: readonly Scenario[] = [
  direct,
  nginxSplit,
  abproxySplit,
  nodeFloor,
  nginxSplit2w,
  abproxySplit2w,
  nginxMirror1w,
  abproxyShadow1w,
  abproxyShadowYield,
  nodeFloorShadow1w,
  nginxMirror2w,
  abproxyShadow2w,
  nodeFloorShadow2w,
  modelLocal,
  modelRemote,
  modelHeavy,
  modelHeavyBatched,
];
