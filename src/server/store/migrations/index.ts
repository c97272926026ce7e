import type { Migration, MigrationProvider } from "kysely";
import { initial } from "./0001_initial.js";

/**
 * Every migration, in order. Names sort lexically; never rename or edit a
 * shipped one, add the next instead. Bundled as code (no directory scan),
 * so the built server carries its migrations.
 */
const migrations: Record<string, Migration> = {
  "0001_initial": initial,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
