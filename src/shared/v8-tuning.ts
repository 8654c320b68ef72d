/**
 * V8 tuning for the long-running processes (LB and shard servers), imported first by their entry points.
 *
 * A shard server is a fresh process after every /init, /add and respawn, and V8 by default optimises a function
 * only after a large "interrupt budget" of bytecode has run in it: a new server spends its first few thousand
 * requests in unoptimised code, at about 1.5x the CPU per request. A smaller budget gets the request path
 * optimised within a few hundred requests. Measured on the default configuration, 3,000 single-row writes at
 * concurrency 1 right after `init`: 5.0-5.8 s with V8's default, 3.1-3.4 s with 4096 (2-core VM).
 *
 * SHARDCTL_V8_FLAGS replaces these flags ("" leaves V8's defaults).
 */
import { setFlagsFromString } from 'node:v8';

export const DEFAULT_V8_FLAGS = '--interrupt-budget=4096';

const flags = process.env.SHARDCTL_V8_FLAGS ?? DEFAULT_V8_FLAGS;
if (flags.trim()) setFlagsFromString(flags);
