#!/usr/bin/env node
// The abproxy command line: one commander program; each command lives in its own file.
import { Command } from 'commander';
import { registerServe } from './serve.js';
import { registerValidate } from './validate.js';
import { registerAssign } from './assign.js';
import { registerShadowLog } from './shadow-log.js';
import { registerReport } from './report.js';
import { registerStatus } from './status.js';
import { registerWeights } from './weights.js';
import { registerPromote } from './promote.js';

const program = new Command('abproxy')
  .description('Sticky, weighted A/B/n traffic splitting for machine-learning models')
  .version('0.1.0')
  .showHelpAfterError();

registerServe(program);
registerValidate(program);
registerAssign(program);
registerShadowLog(program);
registerReport(program);
registerStatus(program);
registerWeights(program);
registerPromote(program);

await program.parseAsync(process.argv);
