import { describe, expect, it } from 'vitest';
import { testWorkspace } from '../support/workspace.ts';
import { tracedRun } from '../support/cli.ts';
import { generateVbzcart } from '../../mappings/vbzcart-ord-pull/fixture.ts';

/**
 * The names an open run resumes from, frozen before the engine is restructured (issue 19): the journal's stage and step
 * names in eventshift_steps, and the fault points the crash tests and the crash drill kill at. Renaming one would
 * strand a run planned by an older version, or silently drop a boundary from the crash tests; changing this list must
 * be a decision (with an upgrade path for open runs), never a side effect.
 */
const ws = testWorkspace('frozen');

const journalSteps = [
  'backup tables',
  'cutover rename ord_pull',
  'cutover rename orders.ID_Pull',
  'verify checks',
  'write create event_vc_legacy',
  'write create event_vc_ord_hold',
  'write projection whenHeld',
  'write step holdOff',
  'write step holdOn',
];

const migratePoints = [
  'backup tables half-written',
  'backup tables recorded',
  'backup tables started',
  'backup tables written',
  'bookkeeping migration half-applied',
  'chunk holdOff <key>',
  'chunk holdOn <key>',
  'cutover rename ord_pull started',
  'cutover rename ord_pull worked',
  'cutover rename orders.ID_Pull started',
  'cutover rename orders.ID_Pull worked',
  'stage backup after',
  'stage backup before',
  'stage cutover after',
  'stage cutover before',
  'stage verify after',
  'stage verify before',
  'stage write after',
  'stage write before',
  'verify checks started',
  'write create event_vc_legacy started',
  'write create event_vc_legacy worked',
  'write create event_vc_ord_hold started',
  'write create event_vc_ord_hold worked',
  'write projection whenHeld started',
  'write projection whenHeld worked',
  'write step holdOff started',
  'write step holdOff worked',
  'write step holdOn started',
  'write step holdOn worked',
];

const restorePoints = [
  'restore finish event',
  'restore finish ord_pull',
  'restore finish orders',
  'restore old copies dropped',
  'restore run work tables dropped',
  'restore stage event loaded',
  'restore stage event verified',
  'restore stage ord_pull loaded',
  'restore stage ord_pull verified',
  'restore stage orders loaded',
  'restore stage orders verified',
  'restore swap after',
  'restore swap before',
  'restore swap renamed',
];

/** The distinct names, sorted, with a chunk's key (which depends on the data) left out. */
const names = (points: string[]) => [...new Set(points.map((p) => p.replace(/^(chunk \S+) \d+$/, '$1 <key>')))].sort();

describe('the names open runs and crash tests depend on', () => {
  it('are the frozen journal steps and fault points, for migrate and for restore', async () => {
    const t = await ws.database('frozen');
    await generateVbzcart(t.db, { seed: 5150, pulls: 120 });
    const env = { DATABASE_URL: t.url };
    const backupDir = ['--backup-dir', ws.path('b')];
    const migrated = await tracedRun(['migrate', 'vbzcart-ord-pull', '--yes', '--quiet', '--chunk-keys', '50', ...backupDir], {
      cwd: ws.dir,
      env,
    });
    expect(migrated.run.code, migrated.run.stderr).toBe(0);
    expect(names(migrated.points)).toEqual(migratePoints);
    expect(migrated.points.filter((p) => p.startsWith('chunk ')).length).toBeGreaterThan(2);
    const steps = await t.db.query<{ name: string }>("SELECT CONCAT(stage, ' ', step) AS name FROM eventshift_steps");
    expect(steps.map((s) => s.name).sort()).toEqual(journalSteps);
    const restored = await tracedRun(['restore', 'vbzcart-ord-pull', '--yes', '--quiet', ...backupDir], { cwd: ws.dir, env });
    expect(restored.run.code, restored.run.stderr).toBe(0);
    expect(names(restored.points)).toEqual(restorePoints);
  });
});
