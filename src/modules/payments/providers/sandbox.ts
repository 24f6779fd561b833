// The sandbox provider: nothing leaves Quita. The page shows a real static Pix code (EMV BR
// Code with its CRC16) for the creditor's name, city and Pix key, so that what a debtor
// would scan is visible, and "Simular pagamento" settles through the same path as Stripe.
import { createStaticPix, hasError } from 'pix-utils';
import QRCode from 'qrcode';

/** The EMV fields allow few characters: no accents, at most `max` of them. */
function emvText(text: string, max: number): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9 .,/&-]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max)
    .trim();
}

export interface PixCode {
  code: string;
  qrDataUrl: string;
}

/** A static Pix code for `amountCents` to the creditor's key; undefined when the creditor has no usable key. */
export async function sandboxPixCode(creditor: { name: string; city: string; pixKey: string | null }, amountCents: number, reference: string): Promise<PixCode | undefined> {
  const pixKey = creditor.pixKey?.trim();
  if (!pixKey) return undefined;
  const pix = createStaticPix({
    merchantName: emvText(creditor.name, 25) || 'CREDOR',
    merchantCity: emvText(creditor.city, 15) || 'BRASIL',
    pixKey,
    // Two decimals of an integer number of centavos: exact in the decimal text pix-utils writes.
    transactionAmount: Number((amountCents / 100).toFixed(2)),
    txid: reference.replace(/[^A-Za-z0-9]/g, '').slice(0, 25) || '***',
  });
  if (hasError(pix)) return undefined;
  const code = pix.toBRCode();
  return { code, qrDataUrl: await pixQrDataUrl(code) };
}

/** A PNG data: URL of a QR code (the CSP allows images from data: only, not Stripe's hosts). */
export function pixQrDataUrl(code: string): Promise<string> {
  return QRCode.toDataURL(code, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
}
