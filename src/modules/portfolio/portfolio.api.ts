import { Readable } from 'node:stream';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, errors } from '../../lib/errors.js';
import { sha256 } from '../../lib/ids.js';
import { emitEvent, notifyOutbox } from '../webhooks/webhooks.events.js';
import { createDebtService } from './debts.service.js';
import { createImportService, tooLarge, type ImportHooks } from './imports.service.js';
import {
  debtBatchBody,
  debtBatchResult,
  debtJson,
  debtList,
  debtListQuery,
  externalIdParams,
  importAccepted,
  importDetail,
  importList,
  importQuery,
  listQuery,
  withdrawBody,
} from './portfolio.schemas.js';

/**
 * A body that is not valid multipart, or that broke off before its end, is the client's
 * fault: 400, not a 500 with a stack trace in the log. Errors that carry a status (a file
 * over the limit: 413) keep it.
 */
function uploadError(err: unknown): unknown {
  if (err instanceof AppError || typeof (err as { statusCode?: unknown } | null)?.statusCode === 'number') return err;
  return errors.badRequest('The upload is not valid multipart/form-data, or it ended before the end of the file; send it again.', 'malformed_upload');
}

const DEBT_BATCH_BODY_BYTES = 8 * 1024 * 1024;

const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain', 'application/vnd.ms-excel', 'application/octet-stream'];

export async function portfolioApi(app: FastifyInstance, opts: { hooks?: ImportHooks } = {}): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { database, clock, config } = app.deps;
  // import.completed is written in the transaction that finishes the import (CONTRACT §4.7).
  const hooks: ImportHooks = opts.hooks ?? {
    onFinished: async (tx, summary, creditorId) => {
      await emitEvent(tx, { creditorId, type: 'import.completed', data: summary, at: clock.now() });
      queueMicrotask(notifyOutbox);
    },
  };
  const imports = createImportService({ database, clock, config, log: app.log, hooks });
  const debts = createDebtService({ database, clock, config });
  const security = [{ bearer: [] }];
  // Authenticated on request, before the input is validated or an upload read: without a token, 401 comes before any 422.
  const auth = [app.authenticateCreditor];
  const scope = (request: FastifyRequest) => `creditor:${request.creditorId}`;


  app.addHook('onReady', async () => {
    // Imports left `processing` by a previous process: on an embedded database every one
    // of them is orphaned; on PostgreSQL only those whose heartbeat went stale.
    await imports.recover({ all: database.kind === 'pglite' });
    if (database.kind === 'postgres') {
      const timer = setInterval(() => void imports.recover().catch(() => {}), 60_000);
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    }
  });
  app.addHook('preClose', async () => imports.stop());

  // Uploads stream, in a scope of their own so that CSV bodies reach no other route: a raw
  // CSV body is handed over unread; multipart is read by @fastify/multipart.
  const maxUploadBytes = config.maxUploadBytes;
  await app.register(async (uploads) => {
    uploads.addContentTypeParser(CSV_TYPES, { bodyLimit: maxUploadBytes }, (_request, payload, done) => done(null, payload));
    await uploads.register(fastifyMultipart, { limits: { fileSize: maxUploadBytes, files: 1, fields: 10 } });
    uploads.withTypeProvider<ZodTypeProvider>().post('/api/v1/imports', {
      onRequest: auth,
      bodyLimit: maxUploadBytes,
      schema: {
        tags: ['portfolio'],
        summary: 'Upload a portfolio CSV (multipart field `file`, or a raw text/csv body); checked and loaded in the background',
        security,
        querystring: importQuery,
        consumes: ['multipart/form-data', 'text/csv'],
        response: { 202: importAccepted },
      },
      handler: async (request, reply) => {
        let source: Readable;
        let fileName: string | undefined;
        if (request.isMultipart()) {
          const part = await request.file().catch((err: unknown) => {
            throw uploadError(err);
          });
          if (!part) throw errors.unprocessable('The multipart upload has no file.', [{ path: 'file', message: 'required' }]);
          if (part.fieldname !== 'file') throw errors.unprocessable('The CSV must be sent in the multipart field `file`.', [{ path: part.fieldname, message: 'expected the field `file`' }]);
          source = part.file;
          fileName = part.filename;
        } else if (request.body instanceof Readable) {
          source = request.body;
        } else {
          throw errors.unsupportedMediaType('Send the CSV as multipart/form-data (field `file`) or as a text/csv body.');
        }
        const dryRun = request.query.dry_run;
        const upload = await imports.receive(source, { creditorId: request.creditorId, dryRun }).catch((err: unknown) => {
          throw source.errored ? uploadError(err) : err;
        });
        // From here the upload is either started or discarded (the import may already be reading it).
        let row;
        try {
          if ((source as Readable & { truncated?: boolean }).truncated) throw tooLarge(config);
          const replayed = await app.idempotencyCheck(request, reply, scope(request), sha256(`${request.url}\n${upload.sha256}`));
          if (replayed) {
            imports.discard(upload.id);
            return reply;
          }
          row = await imports.start(request.creditorId, upload, { dryRun, fileName });
        } catch (err) {
          imports.discard(upload.id);
          throw err;
        }
        reply.header('location', `/api/v1/imports/${row.id}`);
        return reply.code(202).send({ id: row.id, status: 'processing' as const });
      },
    });
  });

  api.get('/api/v1/imports', {
    onRequest: auth,
    schema: { tags: ['portfolio'], summary: 'List imports, newest first', security, querystring: listQuery, response: { 200: importList } },
    handler: async (request) => imports.list(request.creditorId, request.query),
  });

  api.get('/api/v1/imports/:id', {
    onRequest: auth,
    schema: { tags: ['portfolio'], summary: 'One import, with its counts and first 1,000 errors', security, params: z.object({ id: z.uuid() }), response: { 200: importDetail } },
    handler: async (request) => imports.get(request.creditorId, request.params.id),
  });

  api.get('/api/v1/imports/:id/errors.csv', {
    onRequest: auth,
    schema: { tags: ['portfolio'], summary: 'Every rejected row: UTF-8 with BOM, `;`-separated (opens in Excel pt-BR)', security, params: z.object({ id: z.uuid() }), produces: ['text/csv'] },
    handler: async (request, reply) => {
      const lines = imports.errorsCsv(request.creditorId, request.params.id);
      const first = await lines.next(); // 404 before any byte is sent
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${request.params.id}-errors.csv"`);
      return reply.send(Readable.from((async function* () {
        if (!first.done) yield first.value;
        yield* lines;
      })()));
    },
  });

  api.put('/api/v1/debts', {
    onRequest: auth,
    // 1,000 items at their longest (name 200, description 500 characters, as a client that
    // escapes every non-ASCII letter sends them) go past the app's 1 MiB default; 8 MiB holds them.
    bodyLimit: DEBT_BATCH_BODY_BYTES,
    // Each item stands alone: one with a NUL character is rejected by the debt rules, the others kept.
    config: { bodyRefusesNul: true },
    schema: { tags: ['portfolio'], summary: 'Create or update up to 1,000 debts, with the CSV rules', security, body: debtBatchBody, response: { 200: debtBatchResult } },
    handler: async (request) => debts.upsertBatch(request.creditorId, request.body.debts),
  });

  api.get('/api/v1/debts', {
    onRequest: auth,
    schema: { tags: ['portfolio'], summary: 'List debts, newest first', security, querystring: debtListQuery, response: { 200: debtList } },
    handler: async (request) => debts.list(request.creditorId, request.query),
  });

  api.get('/api/v1/debts/:external_id', {
    onRequest: auth,
    schema: { tags: ['portfolio'], summary: 'One debt, with its balance today', security, params: externalIdParams, response: { 200: debtJson } },
    handler: async (request) => debts.get(request.creditorId, request.params.external_id),
  });

  api.delete('/api/v1/debts/:external_id', {
    onRequest: auth,
    schema: { tags: ['portfolio'], summary: 'Withdraw a debt (not while it is in a pending or active agreement)', security, params: externalIdParams, body: withdrawBody, response: { 200: debtJson } },
    handler: async (request) => debts.withdraw(request.creditorId, request.params.external_id, request.body?.reason ?? 'withdrawn'),
  });
}
