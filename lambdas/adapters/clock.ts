/** The wall clock, in epoch milliseconds. */
import type { Clock } from '../core/ports.js';

export const clock: Clock = () => Date.now();
