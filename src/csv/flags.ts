import { InvalidArgumentError, type Command } from 'commander';

// The flags alone, with nothing else of the CSV source: the CLI defines its commands with them as it starts.

/** `--source NAME=path` (repeatable): read a source from a CSV file or a folder of them. */
export function sourceFlag(cmd: Command): Command {
  return cmd.option(
    '--source <name=path>',
    'read a source from a CSV file, or a folder of CSV files (repeatable)',
    (value: string, all: Record<string, string> = {}) => {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(value);
      if (!m) throw new InvalidArgumentError('expected NAME=path, e.g. pull=exports/ord_pull.csv');
      return { ...all, [m[1]!]: m[2]! };
    },
  );
}

/** `--quarantine`: set bad CSV rows aside instead of refusing. */
export function quarantineFlag(cmd: Command): Command {
  return cmd.option('--quarantine', 'set CSV rows that cannot be loaded aside (eventshift_quarantine, quarantine.csv) instead of refusing');
}
