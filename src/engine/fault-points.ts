import { appendFileSync } from 'node:fs';

/**
 * Test-only crash injection. Every stage, step and chunk boundary of a run passes a named point; with
 * EVENTSHIFT_FAULT=<name> the process kills itself there with SIGKILL (no cleanup, as in an OOM kill), and with
 * EVENTSHIFT_FAULT_TRACE=<file> it appends each point's name to the file, so a test can enumerate them.
 * Neither variable is read anywhere else, and without them this does nothing.
 */
export function faultPoint(name: string): void {
  const trace = process.env.EVENTSHIFT_FAULT_TRACE;
  if (trace) appendFileSync(trace, `${name}\n`);
  if (process.env.EVENTSHIFT_FAULT === name) process.kill(process.pid, 'SIGKILL');
}
