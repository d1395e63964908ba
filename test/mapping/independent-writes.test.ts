import { describe, expect, it } from 'vitest';
import { defineMapping, sql, type Mapping } from '../../src/mapping/define.ts';
import { compileProjection, compileStep, independentOfSteps, sourceTableNames, stepsIndependent } from '../../src/mapping/compile.ts';
import vbzcart from '../../mappings/vbzcart-ord-pull/index.ts';

/** The mapping's steps compiled as planned (offset IDs). */
function compiledSteps(mapping: Mapping) {
  const names = sourceTableNames(mapping);
  return Object.keys(mapping.steps).map((name) =>
    compileStep(mapping, { name, keyColumn: 'ID', ids: { strategy: 'offset', offset: 1000 } }, { names }),
  );
}

/** Whether each projection of the mapping may be written while its steps are. */
function independent(mapping: Mapping): boolean[] {
  const names = sourceTableNames(mapping);
  const steps = compiledSteps(mapping);
  return Object.entries(mapping.projections ?? {}).map(([name, p]) => independentOfSteps(compileProjection(name, p, names), steps));
}

describe('a projection written beside the steps', () => {
  it('is allowed for VbzCart: WhenHeld (orders, from ord_pull) and the hold events touch no table of each other', () => {
    expect(independent(vbzcart)).toEqual([true]);
  });

  it('is not when a step reads the projected table, by a join or inside a sql() column', () => {
    const holdOn = vbzcart.steps.holdOn!;
    const joined = defineMapping({
      ...vbzcart,
      steps: { ...vbzcart.steps, holdOn: { ...holdOn, join: { ...holdOn.join, orders: '{{orders.ID}} = {{pull.ID_Ord}}' } } },
    });
    expect(independent(joined)).toEqual([false]);
    const subquery = defineMapping({
      ...vbzcart,
      steps: {
        ...vbzcart.steps,
        holdOn: { ...holdOn, where: 'EXISTS (SELECT 1 FROM orders AS o WHERE o.ID = {{pull.ID_Ord}})' },
      },
    });
    expect(independent(subquery)).toEqual([false]);
  });

  it('is not when the projection reads a table the steps write', () => {
    const whenHeld = vbzcart.projections!.whenHeld!;
    const fromEvents = defineMapping({
      ...vbzcart,
      projections: {
        whenHeld: {
          ...whenHeld,
          value: { ...whenHeld.value, where: `${whenHeld.value.where} AND EXISTS (SELECT 1 FROM event_vc_ord_hold)` },
        },
      },
    });
    expect(independent(fromEvents)).toEqual([false]);
  });
});

describe('steps written at the same time', () => {
  it('are allowed for VbzCart: holdOn and holdOff read ord_pull and ord_hold_type, and write only event tables', () => {
    expect(stepsIndependent(compiledSteps(vbzcart))).toBe(true);
  });

  it('are not when a step reads a table another step writes, in a condition or a value', () => {
    const holdOff = vbzcart.steps.holdOff!;
    const conditioned = defineMapping({
      ...vbzcart,
      steps: { ...vbzcart.steps, holdOff: { ...holdOff, where: `${holdOff.where} AND NOT EXISTS (SELECT 1 FROM event_vc_legacy)` } },
    });
    expect(stepsIndependent(compiledSteps(conditioned))).toBe(false);
    const valued = defineMapping({
      ...vbzcart,
      steps: {
        ...vbzcart.steps,
        holdOff: {
          ...holdOff,
          rows: {
            ...holdOff.rows,
            hold: { ...(holdOff.rows.hold as Record<string, unknown>), Notes: sql('(SELECT MAX(Descrip) FROM event)') },
          },
        },
      },
    });
    expect(stepsIndependent(compiledSteps(valued))).toBe(false);
  });
});
