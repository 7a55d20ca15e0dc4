/** The `callhook` command table. */
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { serveCommand } from '../main.js';
import { openStore } from '../store/db.js';
import { migrate } from '../store/migrator.js';
import { stopSignal } from './stop-signal.js';

const program = new Command('callhook').description('Call-event integration service');

program
  .command('serve')
  .description('run the API and console (settings from CALLHOOK_* variables, see docs/config.md)')
  .action(async () => {
    await serveCommand(stopSignal.signal);
  });

program
  .command('migrate')
  .description('apply pending database migrations and exit')
  .action(async () => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const store = await openStore(config.database);
    try {
      const result = await migrate(store);
      logger.info({ applied: result.applied }, result.applied.length ? 'migrated' : 'up to date');
    } finally {
      await store.close();
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`callhook: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `callhook: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
