import { describe, expect, it } from 'vitest';
import { parseGrant } from '../../src/db/privileges.ts';

describe("parseGrant: a role's SHOW GRANTS lines", () => {
  it('reads privileges at each level, ALL PRIVILEGES expanded, column-level privileges, USAGE and role grants left out', () => {
    expect(parseGrant('GRANT USAGE ON *.* TO `r`')).toEqual([{ privileges: [], on: null }]);
    expect(parseGrant('GRANT RELOAD, PROCESS ON *.* TO `r`')).toEqual([{ privileges: ['RELOAD', 'PROCESS'], on: null }]);
    expect(parseGrant('GRANT INSERT, ALTER ON `shop\\_db`.* TO `r` WITH GRANT OPTION')).toEqual([
      { privileges: ['INSERT', 'ALTER'], on: { database: 'shop\\_db', table: null } },
    ]);
    expect(parseGrant('GRANT SELECT (`a`, `b`), UPDATE ON `shop`.`OLD ord``pull` TO `r`')).toEqual([
      { privileges: ['UPDATE'], on: { database: 'shop', table: 'OLD ord`pull' } },
    ]);
    expect(parseGrant('GRANT ALL PRIVILEGES ON `shop`.* TO `r`')[0]!.privileges).toEqual(
      expect.arrayContaining(['ALTER', 'DROP', 'TRIGGER']),
    );
    expect(parseGrant('GRANT `other_role` TO `r`')).toEqual([]);
    expect(parseGrant('GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `r`')).toEqual([]);
  });
});
