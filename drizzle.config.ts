import { defineConfig } from 'drizzle-kit';

// Generates the migrations of eventshift's own bookkeeping tables. Only `generate` is used: the tool applies them
// itself (drizzle-kit push/pull misbehave on MariaDB).
export default defineConfig({
  dialect: 'mysql',
  schema: './src/engine/bookkeeping-schema.ts',
  out: './drizzle',
});
