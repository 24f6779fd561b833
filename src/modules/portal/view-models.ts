// What the templates show, computed once here: the shared Handlebars helpers format money
// and dates; percentages, instants and documents are formatted in these view models.
import { formatDateBR } from '../../lib/dates.js';
import { formatTaxDocument, maskCpf } from '../../lib/documents.js';
import { formatBRL } from '../../lib/money.js';
import type { AgreementStatus, ParcelStatus } from '../../db/schema/index.js';
import type { Offer } from '../negotiation/offers.js';
import { formatPct } from './format.js';

export interface CreditorLike {
  name: string;
  document: string;
  street: string;
  city: string;
  state: string;
  postalCode?: string;
  postal_code?: string;
}

/** CDC art. 42-A: the creditor's name, CNPJ or CPF and address on every page about a debt. */
export function creditorView(c: CreditorLike) {
  const cep = (c.postalCode ?? c.postal_code ?? '').replace(/^(\d{5})(\d{3})$/, '$1-$2');
  return {
    name: c.name,
    documentLabel: c.document.length === 11 ? 'CPF' : 'CNPJ',
    document: formatTaxDocument(c.document),
    address: `${c.street}, ${c.city}/${c.state}, CEP ${cep}`,
  };
}

export function debtorView(cpf: string) {
  return { cpfMasked: maskCpf(cpf) };
}

export const AGREEMENT_STATUS_TEXT: Record<AgreementStatus, { label: string; explanation: string }> = {
  pending: { label: 'Aguardando o pagamento da 1ª parcela', explanation: 'O acordo começa a valer quando a 1ª parcela for paga.' },
  active: { label: 'Em andamento', explanation: 'A 1ª parcela foi paga e o acordo está valendo.' },
  completed: { label: 'Quitado', explanation: 'Todas as parcelas foram pagas.' },
  broken: { label: 'Encerrado por falta de pagamento', explanation: 'Uma parcela ficou sem pagamento além do prazo do acordo. O que foi pago foi abatido das dívidas, que voltaram a ficar em aberto; você pode fazer um novo acordo.' },
  expired: { label: 'Expirado', explanation: 'A 1ª parcela não foi paga a tempo. As dívidas voltaram a ficar em aberto; você pode fazer um novo acordo.' },
  cancelled: { label: 'Cancelado pelo credor', explanation: 'O credor cancelou este acordo antes do primeiro pagamento. As dívidas voltaram a ficar em aberto.' },
};

export const PARCEL_STATUS_TEXT: Record<ParcelStatus, string> = {
  pending: 'A pagar',
  processing: 'Pagamento em processamento',
  paid: 'Paga',
  overdue: 'Vencida',
  cancelled: 'Cancelada',
};

/** A short list of due dates; long plans are summarised to keep the page small. */
export function dueDatesText(dates: string[]): string {
  if (dates.length <= 12) return dates.map(formatDateBR).join(', ');
  return `${formatDateBR(dates[0]!)}, ${formatDateBR(dates[1]!)}, … (uma por mês) até ${formatDateBR(dates[dates.length - 1]!)}`;
}

/** `12× de R$ 93,00` (× is U+00D7) */
export function planTitle(offer: Offer): string {
  if (offer.kind === 'cash') return `À vista: ${formatBRL(offer.total_cents)}`;
  return `${offer.installments}\u00d7 de ${formatBRL(offer.parcels[0]!.amount_cents)}`;
}

export function offerView(offer: Offer, balanceCents: number) {
  const last = offer.parcels[offer.parcels.length - 1]!;
  const first = offer.parcels[0]!;
  return {
    kind: offer.kind,
    isCash: offer.kind === 'cash',
    title: planTitle(offer),
    total: formatBRL(offer.total_cents),
    balance: formatBRL(balanceCents),
    lastDiffers: offer.parcels.length > 1 && last.amount_cents !== first.amount_cents,
    lastAmount: formatBRL(last.amount_cents),
    discount: offer.discount_cents > 0 ? formatBRL(offer.discount_cents) : null,
    financingCharge: offer.discount_cents < 0 ? formatBRL(-offer.discount_cents) : null,
    nominalMonthly: formatPct(offer.installment_monthly_rate_pct),
    nominalAnnual: formatPct(offer.installment_monthly_rate_pct * 12),
    effectiveMonthly: formatPct(offer.effective_monthly_rate_pct),
    effectiveAnnual: formatPct(offer.effective_annual_rate_pct),
    dueDates: dueDatesText(offer.parcels.map((p) => p.due_date)),
    firstDue: formatDateBR(first.due_date),
    parcels: offer.parcels.map((p) => ({ number: p.number, dueDate: formatDateBR(p.due_date), amount: formatBRL(p.amount_cents) })),
  };
}
