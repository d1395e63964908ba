#!/usr/bin/env node
// Mappings are TypeScript modules chosen at run time, so the CLI runs under tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
