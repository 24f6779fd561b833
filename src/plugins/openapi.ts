import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

async function openapiPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Quita creditor API',
        version: '1.0.0',
        description:
          'Place overdue receivables, set the bounds you accept, hand debtors a link, and follow agreements and payments. ' +
          'Amounts are integer centavos; dates are YYYY-MM-DD on the America/Sao_Paulo calendar. Errors are application/problem+json.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /api/v1/auth/token' },
          admin: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
        },
      },
    },
    // The document describes the creditor API; the portal's HTML routes and Stripe's
    // webhook receiver are not part of it.
    transform: (args) => (args.url.startsWith('/api/') ? jsonSchemaTransform(args) : { schema: { ...args.schema, hide: true }, url: args.url }),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
}

export default fp(openapiPlugin, { name: 'openapi' });
