// The config file's one schema: every field with its default, unit and bound. Types are derived from it.
// Cross-field rules (unique names, dangling model references, positive total weight) live here too.
import { z } from 'zod';
import { addressesCollide, parseAddress } from './address.js';
import { parseTarget } from './target.js';
import { isToken } from '../http/request-head.js';
import { isIP } from 'node:net';

const nameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 letters, digits, "_", "." or "-", starting with a letter or digit');

const addressSchema = z.string().superRefine((value, ctx) => {
  const problem = parseAddress(value).problem;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const targetSchema = z.string().superRefine((value, ctx) => {
  const problem = parseTarget(value).problem;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

function isIpOrCidr(value: string): boolean {
  const [address = '', prefix, extra] = value.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

const positiveMs = (max: number) => z.number().int().min(1).max(max);

const limitsSchema = z.strictObject({
  maxBodyBytes: z.number().int().min(1).max(1024 ** 3).default(1_048_576),
  upstreamTimeoutMs: positiveMs(3_600_000).default(30_000),
  headersTimeoutMs: positiveMs(600_000).default(10_000),
  requestTimeoutMs: positiveMs(3_600_000).default(60_000),
  keepAliveTimeoutMs: positiveMs(600_000).default(5_000),
  upstreamKeepAliveTimeoutMs: positiveMs(600_000).default(4_000),
  upstreamConnections: z.number().int().min(1).max(10_000).default(128),
  maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
  /**
   * How long an answer may wait for the client to take any of it (nginx's send_timeout): it runs while
   * the client's buffer is over its high-water mark, from one write to the next, not over the whole answer.
   */
  sendTimeoutMs: positiveMs(3_600_000).default(60_000),
}).superRefine((limits, ctx) => {
  if (limits.headersTimeoutMs <= limits.requestTimeoutMs) return;
  const message = `${limits.headersTimeoutMs} must be at most requestTimeoutMs, ${limits.requestTimeoutMs} (the head is part of the request; either may be the default)`;
  ctx.addIssue({ code: 'custom', path: ['headersTimeoutMs'], message });
});

/**
 * An optional second listener for HTTP/2 (gRPC clients such as Triton's and KServe's): cleartext with
 * prior knowledge, or TLS with ALPN h2 when `tls` names a PEM certificate (chain) and key.
 */
const http2Schema = z.strictObject({
  listen: addressSchema,
  maxConcurrentStreams: z.number().int().min(1).max(10_000).default(100),
  tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
});

const shadowLogSchema = z.strictObject({
  path: z.string().min(1).default('data/shadow.jsonl'),
  maxBytes: z.number().int().min(1024).default(104_857_600),
  captureBodies: z.boolean().default(true),
});

const batchSchema = z.strictObject({
  maxSize: z.number().int().min(1).max(4096).default(32),
  maxDelayMs: z.number().min(0).max(1000).default(2),
});

const modelSchema = z.strictObject({
  path: z.string().min(1),
  version: z.string().min(1).optional(),
  intraOpThreads: z.number().int().min(1).max(64).optional(),
  batch: batchSchema.optional(),
});

/** The worker threads that run local models (workers defaults to min(2, CPUs)). */
const modelPoolSchema = z.strictObject({
  workers: z.number().int().min(1).max(64).optional(),
  maxQueued: z.number().int().min(1).max(100_000).default(1024),
});

const TOKEN_CHARACTERS = "letters, digits and !#$%&'*+-.^_`|~, no spaces";

/** A request header's name (an RFC 9110 token), matched in any case. */
const headerNameSchema = z
  .string()
  .refine(isToken, `must be a header field name (${TOKEN_CHARACTERS})`)
  .transform((h) => h.toLowerCase());

const stickySourceSchema = z.union([
  z.strictObject({ header: headerNameSchema }),
  z.strictObject({ cookie: z.string().refine(isToken, `must be a cookie name (${TOKEN_CHARACTERS})`) }),
  z.strictObject({ query: z.string().min(1) }),
  z.strictObject({ body: z.string().regex(/^[^.]+(\.[^.]+)*$/, 'must be a dotted path such as parameters.session_id') }),
]);

/** Where gRPC calls go when the server answers them on another port than REST (Triton's 8001, KServe's 8081). */
const grpcTargetSchema = targetSchema.refine((value) => !value.startsWith('model:'), 'a local model answers gRPC calls through `target`; grpcTarget is an http:// URL');

const variantSchema = z.strictObject({
  name: nameSchema,
  target: targetSchema,
  grpcTarget: grpcTargetSchema.optional(),
  weight: z.number().min(0, 'must be >= 0').max(1_000_000),
});

const shadowSchema = z.strictObject({
  name: nameSchema,
  target: targetSchema,
  grpcTarget: grpcTargetSchema.optional(),
  percent: z.number().min(0).max(100).default(100),
  timeoutMs: positiveMs(600_000).default(5_000),
  maxInFlight: z.number().int().min(1).max(100_000).default(64),
  tolerance: z.number().min(0).default(1e-6),
  /** JSON fields the comparison leaves out: dotted paths (non-empty segments, no line breaks), `*` for any key or index. */
  ignore: z.array(z.string().regex(/^[^.\n]+(\.[^.\n]+)*$/, 'must be a dotted path such as id or choices.*.index')).max(64).default([]),
});

/** One earlier weight step of a route, written by `abproxy weights`; slots move minimally between steps. */
const weightStepSchema = z.record(nameSchema, z.number().min(0));

const routeSchema = z.strictObject({
  name: nameSchema,
  match: z.strictObject({
    pathPrefix: z.string().startsWith('/', 'must start with "/"'),
  }),
  sticky: z.array(stickySourceSchema).default([]),
  override: z
    .strictObject({
      header: headerNameSchema.default('x-abproxy-variant'),
      enabled: z.boolean().default(true),
    })
    .default({ header: 'x-abproxy-variant', enabled: true }),
  variants: z.array(variantSchema).min(1, 'needs at least one variant'),
  shadows: z.array(shadowSchema).default([]),
  /** WebSocket upgrades (RFC 6455) are forwarded and tunnelled; without it an upgrade request is served as a plain request. */
  websocket: z.boolean().default(false),
  /** Sending a request again after its upstream connection was reset before any answer (see upstream/retry-policy.ts). */
  retry: z
    .strictObject({
      attempts: z.number().int().min(0).max(3).default(1),
      nonIdempotent: z.boolean().default(false),
    })
    .default({ attempts: 1, nonIdempotent: false }),
  weightHistory: z.array(weightStepSchema).max(10_000).default([]),
});

const logSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  accessLog: z.boolean().default(false),
  accessLogSampleRate: z.number().min(0).max(1).default(1),
  /** Bytes of log lines waiting for stdout (while it is read slower than lines come); beyond, lines are dropped and counted. Read at start. */
  maxBufferBytes: z.number().int().min(65_536).max(1_073_741_824).default(8_388_608),
});

const feedbackSchema = z.strictObject({
  /** Request ids remembered (with the variant that served them) for feedback attribution; oldest dropped first. */
  requestIdCacheSize: z.number().int().min(1).max(10_000_000).default(100_000),
  maxBodyBytes: z.number().int().min(64).max(1_048_576).default(16_384),
});

export const configSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    listen: addressSchema.default('127.0.0.1:8080'),
    admin: addressSchema.default('127.0.0.1:9901'),
    http2: http2Schema.optional(),
    adminToken: z.string().default(''),
    trustedProxies: z.array(z.string().refine(isIpOrCidr, 'must be an IP address or CIDR range')).default([]),
    limits: limitsSchema.default(limitsSchema.parse({})),
    shadowLog: shadowLogSchema.default(shadowLogSchema.parse({})),
    /** Which thread sends HTTP shadow copies: the shadow worker thread, the data plane's own, or auto (the worker when a core is to spare for it). */
    shadowCopies: z.enum(['auto', 'main', 'worker']).default('auto'),
    /**
     * The shadow worker thread's CPU priority: `yield` (below normal, so under CPU contention the data plane
     * runs first and copies beyond maxInFlight are dropped) or `equal` (every copy competes with the champion).
     */
    shadowPriority: z.enum(['yield', 'equal']).default('yield'),
    log: logSchema.default(logSchema.parse({})),
    feedback: feedbackSchema.default(feedbackSchema.parse({})),
    models: z.record(nameSchema, modelSchema).default({}),
    modelPool: modelPoolSchema.default(modelPoolSchema.parse({})),
    routes: z.array(routeSchema).min(1, 'needs at least one route'),
  })
  .superRefine((config, ctx) => {
    const flag = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const listeners = [
      { path: ['listen'], value: config.listen },
      { path: ['admin'], value: config.admin },
      ...(config.http2 ? [{ path: ['http2', 'listen'], value: config.http2.listen }] : []),
    ].map((listener) => ({ ...listener, address: parseAddress(listener.value).address }));
    listeners.forEach(({ path, value, address }, i) => {
      const earlier = address && listeners.slice(0, i).find((other) => other.address && addressesCollide(address, other.address));
      if (earlier) flag(path, `${value} is also ${earlier.path.join('.')}'s address; each listener needs its own port`);
    });
    const routeNames = new Set<string>();
    const prefixes = new Set<string>();
    config.routes.forEach((route, r) => {
      if (routeNames.has(route.name)) flag(['routes', r, 'name'], `duplicate route name "${route.name}"`);
      routeNames.add(route.name);
      if (prefixes.has(route.match.pathPrefix)) flag(['routes', r, 'match', 'pathPrefix'], `duplicate pathPrefix "${route.match.pathPrefix}"`);
      prefixes.add(route.match.pathPrefix);
      const names = new Set<string>();
      let total = 0;
      route.variants.forEach((variant, v) => {
        if (names.has(variant.name)) flag(['routes', r, 'variants', v, 'name'], `duplicate variant name "${variant.name}"`);
        names.add(variant.name);
        total += variant.weight;
        checkModelRef(variant.target, ['routes', r, 'variants', v, 'target']);
      });
      if (total <= 0) flag(['routes', r, 'variants'], 'weights must sum to more than 0');
      route.shadows.forEach((shadow, s) => {
        if (names.has(shadow.name)) flag(['routes', r, 'shadows', s, 'name'], `duplicate name "${shadow.name}" (variants and shadows share one namespace)`);
        names.add(shadow.name);
        checkModelRef(shadow.target, ['routes', r, 'shadows', s, 'target']);
      });
    });
    function checkModelRef(target: string, path: (string | number)[]) {
      const parsed = parseTarget(target);
      if (parsed.target?.kind === 'model' && !(parsed.target.model in config.models)) {
        flag(path, `model "${parsed.target.model}" is not defined under models`);
      }
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type RouteConfig = Config['routes'][number];
export type VariantConfig = RouteConfig['variants'][number];
export type ShadowConfig = RouteConfig['shadows'][number];
export type StickySource = RouteConfig['sticky'][number];
export type ModelConfig = Config['models'][string];
export type Limits = Config['limits'];
export type FeedbackConfig = Config['feedback'];
export type WeightStep = Record<string, number>;
