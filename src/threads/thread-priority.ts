// Lowers the CPU priority of the calling thread, so that when the cores are contended the threads
// serving requests run first. Linux only, where a nice value belongs to one thread; elsewhere
// setPriority(0) would lower the whole process, so it does nothing there. Never raises a priority.
import { constants, getPriority, setPriority } from 'node:os';

/** Nice value of a thread that yields the CPU: the kernel weighs it about a tenth of a normal thread. */
export const YIELDING_NICE = constants.priority.PRIORITY_BELOW_NORMAL;

/** Lowers this thread's priority; returns why it could not (undefined when it did, it already was that low, or the platform has no per-thread nice). */
export function yieldCpu(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    if (getPriority(0) < YIELDING_NICE) setPriority(0, YIELDING_NICE);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
