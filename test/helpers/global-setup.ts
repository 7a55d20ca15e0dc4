import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { TEST_DATABASE_URL } from './store.js';

/**
 * Builds `dist/` and the console's `web/dist/` once (process tests run the real `callhook` binary;
 * the app serves the console) and checks PostgreSQL is up: PostgreSQL tests must run, never skip
 * silently.
 */
export default async function setup(): Promise<void> {
  // CALLHOOK_TEST_SKIP_BUILD=1 reuses the dist/ at hand (a quicker local loop; CI always builds).
  if (process.env['CALLHOOK_TEST_SKIP_BUILD'] !== '1') {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
    // The web console's browser modules (web/dist), which the app serves.
    execFileSync('npx', ['tsc', '-p', 'web/tsconfig.json'], { stdio: 'inherit' });
  }
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_DATABASE_URL} (set CALLHOOK_TEST_DATABASE_URL): ${String(error)}`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
