#!/usr/bin/env node
// The CLI, compiled from src/ on first use and whenever src/ changes (bin/compiled.mjs explains why and how).
import { importCli } from './compiled.mjs';

await importCli();
