// `npm run db:migrate`: applies the migrations to DATABASE_URL, or to the embedded database in DATA_DIR.
import { loadConfig } from '../src/config.js';
import { openDatabase, runMigrations } from '../src/db/client.js';

const config = loadConfig();
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
try {
  await runMigrations(database);
  console.log(`migrations applied (${database.kind})`);
} finally {
  await database.close();
}
