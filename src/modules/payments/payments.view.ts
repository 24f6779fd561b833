// What the agreement page says of payments under way: a Pix code still valid, a boleto
// awaiting clearing.
import type { Executor } from '../../db/client.js';
import { calendarDateAt, formatDateBR } from '../../lib/dates.js';
import { formatInstantBR } from '../portal/format.js';
import { paymentsInProgress } from './payments.service.js';

export interface PaymentProgressLine {
  text: string;
  href: string;
  link: string;
}

export async function paymentProgressLines(db: Executor, agreementId: string, now: Date, tz: string): Promise<PaymentProgressLine[]> {
  const rows = await paymentsInProgress(db, agreementId, now);
  return rows.map((p) => {
    const what = p.kind === 'payoff' ? 'a quitação antecipada' : `a parcela ${p.parcelNumber}`;
    const href = `/acordos/${agreementId}/pagamentos/${p.id}`;
    const boleto = p.display?.boleto;
    if (boleto) {
      const until = boleto.expires_at ? `, vencimento ${formatDateBR(calendarDateAt(new Date(boleto.expires_at), tz))}` : '';
      return { text: `Boleto emitido para ${what}${until}, aguardando a compensação (até 3 dias úteis depois de pago).`, href, link: 'Ver o boleto' };
    }
    const pix = p.display?.pix;
    if (pix && p.status === 'pending') {
      const until = pix.expires_at ? `, válido até ${formatInstantBR(new Date(pix.expires_at), tz)}` : '';
      return { text: `Código Pix gerado para ${what}${until}.`, href, link: 'Ver o código Pix' };
    }
    return { text: `O pagamento d${what} está em processamento.`, href, link: 'Ver o pagamento' };
  });
}
