// zod fields shared by request schemas: documents, phones, postal codes.
import { normalizeBrazilianPhone, PHONE_MESSAGE } from './phone.js';
import { z } from 'zod';
import { documentProblemMessage, parseCpf, parseTaxDocument } from './documents.js';

export const cpfField = z.string().transform((value, ctx) => {
  const parsed = parseCpf(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: documentProblemMessage('CPF', parsed.problem) });
    return z.NEVER;
  }
  return parsed.value;
});

export const taxDocumentField = z.string().transform((value, ctx) => {
  const parsed = parseTaxDocument(value);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: documentProblemMessage('CPF ou CNPJ', parsed.problem) });
    return z.NEVER;
  }
  return parsed.value;
});

export const phoneField = z.string().transform((value, ctx) => {
  const phone = normalizeBrazilianPhone(value);
  if (!phone) {
    ctx.addIssue({ code: 'custom', message: PHONE_MESSAGE });
    return z.NEVER;
  }
  return phone;
});

export const postalCodeField = z
  .string()
  .regex(/^\d{5}-?\d{3}$/, 'CEP inválido: use 01310-100 ou 01310100')
  .transform((v) => v.replace('-', ''));

export const UF = ['AC', 'AL', 'AP', 'AM', 'BA', 'CE', 'DF', 'ES', 'GO', 'MA', 'MT', 'MS', 'MG', 'PA', 'PB', 'PR', 'PE', 'PI', 'RJ', 'RN', 'RS', 'RO', 'RR', 'SC', 'SP', 'SE', 'TO'] as const;

/* eslint-disable-next-line no-control-regex -- finds control characters */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * A one-line text of 1–`max` characters, trimmed. Control characters (C0, DEL, C1, line
 * separators) and bidirectional overrides are refused, as in a debt's name: they have no
 * place in a name or an address shown to debtors (U+202E can make text read backwards).
 */
export const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((value) => !CONTROL.test(value), { message: 'must not contain control or bidirectional-override characters' });
