import { currentAutoIncrement } from '../db/introspect.ts';
import { autoIncrementSql } from '../mapping/schema-statements.ts';
import { journaled, privilegeNeeds, type Part } from './part.ts';

/**
 * AUTO_INCREMENT raised past the IDs the plan reserves (plan.idSpace), so the application's new rows never take one;
 * set back towards the backup's value on undo. (Its export statements go into the first step's patch: see steps.ts.)
 */
export const autoIncrementPart: Part = {
  kind: 'autoIncrement',
  async write(w) {
    for (const space of w.plan.idSpace) {
      const raiseTo = space.raiseAutoIncrementTo;
      if (raiseTo === null) continue;
      await journaled(w, `auto_increment ${space.table}`, async () => {
        const current = await currentAutoIncrement(w.db, space.table);
        if (current === null || current < raiseTo) await w.db.execute(autoIncrementSql(space.table, raiseTo));
      });
    }
  },
  privileges: ({ plan }) => {
    const raised = plan.idSpace.filter((s) => s.raiseAutoIncrementTo !== null).map((s) => s.table);
    return [
      ...privilegeNeeds(['ALTER'], raised, { for: 'write stage: ALTER TABLE ... AUTO_INCREMENT past the reserved IDs', when: 'run' }),
      ...privilegeNeeds(['ALTER'], raised, { for: 'rollback: setting AUTO_INCREMENT back', when: 'rollback' }),
    ];
  },
  async undo({ db, plan, manifest, actions }) {
    for (const space of plan.idSpace.filter((s) => s.raiseAutoIncrementTo !== null && s.exists)) {
      const before = manifest?.tables.find((t) => t.name === space.table)?.autoIncrement;
      if (before === undefined || before === null) continue;
      // The server keeps AUTO_INCREMENT above the highest row, so others' rows are never put at risk by this.
      await db.execute(autoIncrementSql(space.table, before));
      actions.push(`set ${space.table}'s AUTO_INCREMENT back towards ${before}`);
    }
  },
};
