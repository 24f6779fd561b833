// Boot only: config → app → listen → graceful close.
import closeWithGrace from 'close-with-grace';
import { buildApp, loggerOptions } from './app.js';
import { loadConfigOrExit } from './config.js';
import { startJobRunner } from './jobs/runner.js';
import { seedDemo } from './seed/demo.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await buildApp({ config, logger: loggerOptions(config, Boolean(process.stdout.isTTY)) });
  const { database, clock } = app.deps;

  if (!config.isProduction && !process.env.PUBLIC_URL && config.host === '0.0.0.0') {
    app.log.warn('PUBLIC_URL is not set: debtor links will point at http://0.0.0.0; set PUBLIC_URL to the address debtors reach');
  }
  if (config.isProduction && !process.env.PUBLIC_URL) app.log.warn('PUBLIC_URL is not set: debtor links will use http://HOST:PORT');

  // The demo seed is for a new user trying Quita, never for a production database.
  if (database.kind === 'pglite' && !config.isProduction) {
    const demo = await seedDemo({ database, clock, config });
    if (demo) {
      console.log(
        [
          '',
          'Quita demo data created on the embedded database:',
          `  creditor:     ${demo.creditorName} (client_id ${demo.clientId}, client_secret ${demo.clientSecret})`,
          `  debtor link:  ${demo.link ?? '(the debtor portal is not built yet)'}`,
          `  debtor CPF:   ${demo.debtorCpf}`,
          '',
        ].join('\n'),
      );
    }
  }

  // One process owns an embedded database, so the server runs the jobs itself there.
  const runner = database.kind === 'pglite' ? startJobRunner({ database, clock, config, log: app.log }) : undefined;

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err: err.message }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    await runner?.stop();
    await app.close();
  });

  await app.listen({ port: config.port, host: config.host });
  app.log.info({ url: config.publicUrl }, 'Quita is listening');
}

await main();
