// Every benchmark scenario, in the order they run and print. Add a scenario: one file in this folder
// exporting a Scenario, plus one line here.
import type { Scenario } from '../lib/types.js';
import { abproxySplit } from './abproxy-split.js';
import { direct } from './direct.js';
import { nginxSplit } from './nginx-split.js';

export const scenarios: readonly Scenario[] = [direct, nginxSplit, abproxySplit];
