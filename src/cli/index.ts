#!/usr/bin/env node
/**
 * Entry of the `callhook` binary. Stop signals are caught before the heavy modules load, so a
 * SIGTERM during start-up ends the start cleanly instead of killing the process mid-step.
 */
import { stopSignal } from './stop-signal.js';

stopSignal.install();
await import('./commands.js');
