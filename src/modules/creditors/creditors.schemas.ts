import { z } from 'zod';
import { listSchema, pageQuerySchema } from '../../lib/pagination.js';
import { UF, phoneField, postalCodeField, taxDocumentField, text } from '../../lib/zod-fields.js';

export const addressSchema = z.strictObject({
  street: text(200),
  city: text(100),
  state: z.enum(UF, { message: 'state must be a UF such as SP' }),
  postal_code: postalCodeField,
});

const profileFields = {
  name: text(200),
  document: taxDocumentField.describe('CNPJ (numeric or alphanumeric), or CPF for a person; formatted or bare'),
  address: addressSchema,
  email: z.email(),
  phone: phoneField.optional(),
  pix_key: text(77).optional(),
};

export const createCreditorBody = z.strictObject({
  ...profileFields,
  financial_institution: z.boolean().default(false),
});
export type CreateCreditorInput = z.output<typeof createCreditorBody>;

export const profileBody = z.strictObject(profileFields);
export type ProfileInput = z.output<typeof profileBody>;

/** For a POST that takes no input: nothing, or an empty object (unknown fields are refused). */
export const noBody = z.strictObject({}).nullish();

export const credentialsResponse = z.object({ client_id: z.string(), client_secret: z.string() });

export const createdCreditorResponse = z.object({
  creditor_id: z.uuid(),
  client_id: z.string(),
  client_secret: z.string().describe('Shown only here'),
});

export const profileResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  document: z.string(),
  address: z.object({ street: z.string(), city: z.string(), state: z.string(), postal_code: z.string() }),
  email: z.string(),
  phone: z.string().nullable(),
  pix_key: z.string().nullable(),
  financial_institution: z.boolean(),
});

export const credentialListResponse = listSchema(z.object({ client_id: z.string(), created_at: z.string(), revoked_at: z.string().nullable() }));
export const credentialListQuery = z.object(pageQuerySchema);

export const tokenBody = z.strictObject({
  grant_type: z.literal('client_credentials').optional(),
  client_id: z.string().min(1).max(200),
  client_secret: z.string().min(1).max(200),
});

export const tokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
});

export const clockBody = z.strictObject({ now: z.iso.datetime({ offset: true }).nullable() });
export const clockResponse = z.object({ now: z.string(), adjusted: z.boolean() });
