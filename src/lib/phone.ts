// Brazilian phone numbers, stored as national digits: DDD + 8 or 9 digits.

export const PHONE_MESSAGE = 'telefone inválido: use DDD e número, como (11) 91234-5678';

/** `+55 (11) 91234-5678` → `11912345678`; null when it is not a Brazilian phone. */
export function normalizeBrazilianPhone(input: string): string | null {
  const digits = input.replace(/[\s().+-]/g, '');
  if (!/^\d+$/.test(digits)) return null;
  const national = digits.length >= 12 && digits.startsWith('55') ? digits.slice(2) : digits;
  if (!/^[1-9][1-9]\d{8,9}$/.test(national)) return null;
  if (national.length === 11 && national[2] !== '9') return null;
  return national;
}
