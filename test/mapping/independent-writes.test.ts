import { describe, expect, it } from 'vitest';
import { defineMapping, type Mapping } from '../../src/mapping/define.ts';
import { compileProjection, compileStep, independentOfSteps, sourceTableNames } from '../../src/mapping/compile.ts';
import vbzcart from '../../mappings/vbzcart-ord-pull/index.ts';

/** Whether each projection of the mapping may be written while its steps are (offset IDs, as planned). */
function independent(mapping: Mapping): boolean[] {
  const names = sourceTableNames(mapping);
  const steps = Object.entries(mapping.steps).map(([name, step]) =>
    compileStep(mapping, name, step, 'ID', { strategy: 'offset', offset: 1000 }, names));
  return Object.entries(mapping.projections ?? {}).map(([name, p]) => independentOfSteps(compileProjection(name, p, names), steps));
}

describe('a projection written beside the steps', () => {
  it('is allowed for VbzCart: WhenHeld (orders, from ord_pull) and the hold events touch no table of each other', () => {
    expect(independent(vbzcart)).toEqual([true]);
  });

  it('is not when a step reads the projected table, by a join or inside a sql() column', () => {
    const holdOn = vbzcart.steps.holdOn!;
    const joined = defineMapping({ ...vbzcart, steps: { ...vbzcart.steps, holdOn: { ...holdOn, join: { ...holdOn.join, orders: '{{orders.ID}} = {{pull.ID_Ord}}' } } } });
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
      projections: { whenHeld: { ...whenHeld, value: { ...whenHeld.value, where: `${whenHeld.value.where} AND EXISTS (SELECT 1 FROM event_vc_ord_hold)` } } },
    });
    expect(independent(fromEvents)).toEqual([false]);
  });
});
