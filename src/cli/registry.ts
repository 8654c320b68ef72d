/** The shapes cli/index.ts hands to modules that register their own commands (bench, chaos). */
import type { Command } from 'commander';

/** Adds the options every command takes (--url, --name, --json). */
export type Common = (c: Command) => Command;
/** Wraps an action: one line and a non-zero exit on failure. */
export type Runner = <A extends unknown[]>(fn: (...a: A) => Promise<void>) => (...a: A) => Promise<void>;
