import { z } from 'zod';
import { listSchema, pageQuerySchema } from '../../lib/pagination.js';
import { EVENT_TYPES } from './webhooks.events.js';

export const MAX_URL_LENGTH = 2048;

export const eventTypeField = z.enum(EVENT_TYPES, { message: `must be one of ${EVENT_TYPES.join(', ')}` });

const urlField = z
  .string()
  .trim()
  .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
    } catch {
      return false;
    }
  }, 'must be an http(s) URL')
  .refine((value) => !/^[a-z]+:\/\/[^/?#]*@/i.test(value), 'must not carry a user name or password')
  .describe('Where events are POSTed: http(s), at most 2048 characters');

export const createEndpointBody = z.strictObject({
  url: urlField,
  events: z.array(eventTypeField).max(EVENT_TYPES.length * 2).optional().describe('Event types to receive; omitted or empty: every type'),
});
export type CreateEndpointInput = z.output<typeof createEndpointBody>;

export const endpointParams = z.object({ id: z.string().max(100) });

const endpointFields = {
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()).describe('Empty: every type'),
  status: z.enum(['enabled', 'disabled']),
  disabled_reason: z.string().nullable(),
  created_at: z.string(),
  disabled_at: z.string().nullable(),
};

export const endpointResponse = z.object(endpointFields);
export const createdEndpointResponse = z.object({ ...endpointFields, secret: z.string().describe('whsec_…: shown only here and on rotation') });
export const endpointListResponse = listSchema(endpointResponse);
export const endpointListQuery = z.object(pageQuerySchema);
export const secretResponse = z.object({ secret: z.string() });

/** POSTs that take no body: none, or an empty object. */
export const emptyBody = z.strictObject({}).nullish();

export const eventListQuery = z.object({ ...pageQuerySchema, type: eventTypeField.optional() });

const eventFields = {
  id: z.string(),
  type: z.string(),
  created_at: z.string(),
  data: z.record(z.string(), z.unknown()),
};
export const eventResponse = z.object(eventFields);
export const eventListResponse = listSchema(eventResponse);
export const eventDetailResponse = z.object({
  ...eventFields,
  deliveries: z.array(
    z.object({
      endpoint_id: z.string(),
      attempt: z.number().int(),
      at: z.string(),
      status_code: z.number().int().nullable(),
      error: z.string().nullable(),
      duration_ms: z.number().int(),
      response_excerpt: z.string().nullable().describe("The first kilobyte of the receiver's answer"),
    }),
  ).describe('Every try, oldest first'),
});

export const redeliverBody = z.strictObject({ endpoint_id: z.string().max(100).optional().describe('Only this endpoint; omitted: every enabled endpoint subscribed to the type') }).nullish();
export const redeliverResponse = z.object({ event_id: z.string(), endpoint_ids: z.array(z.string()) });
