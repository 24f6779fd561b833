// The policy and simulate use cases: request bodies checked against the creditor's own
// bounds, versions stored by the policy service, offers computed by the pure engine.
import type { Db } from '../../db/client.js';
import { today, type Clock } from '../../lib/clock.js';
import { errors } from '../../lib/errors.js';
import { computeOffers } from './offers.js';
import { parseBody, policyBodyFor, simulateBodyFor, type SimulateInput } from './negotiation.schemas.js';
import { createPolicyService, type PolicyVersion } from './policy.service.js';

function withVersion({ version, policy }: PolicyVersion) {
  return { version, ...policy };
}

export function createNegotiationService(deps: { db: Db; clock: Clock; tzBusiness: string }) {
  const { clock, tzBusiness } = deps;
  const policies = createPolicyService({ db: deps.db });
  const boundsOf = async (creditorId: string) => ({ financialInstitution: await policies.isFinancialInstitution(creditorId) });

  return {
    async currentPolicy(creditorId: string) {
      return withVersion(await policies.current(creditorId));
    },

    /** `body` is the raw request body: it is checked here, against this creditor's bounds. */
    async replacePolicy(creditorId: string, body: unknown) {
      const policy = parseBody(policyBodyFor(await boundsOf(creditorId)), body);
      return withVersion(await policies.replace(creditorId, policy, clock.now()));
    },

    /** Checks a raw simulate body against this creditor's bounds (422 naming each field). */
    async parseSimulation(creditorId: string, body: unknown): Promise<SimulateInput> {
      return parseBody(simulateBodyFor(await boundsOf(creditorId)), body);
    },

    /** §4.4 simulate: the offers of §3 on the given policy or the current one; no prescription. */
    async simulate(creditorId: string, input: SimulateInput) {
      const policy = input.policy ?? (await policies.current(creditorId)).policy;
      const asOf = input.as_of ?? today(clock, tzBusiness);
      const firstDueDate = input.first_due_date ?? asOf;
      try {
        const { balance_cents, offers } = computeOffers({ debts: input.debts, policy, asOf, firstDueDate });
        return { balance_cents, offers };
      } catch (err) {
        // The body is valid, so the engine can only refuse amounts whose sums or totals
        // would pass 2^53 − 1 centavos: a 422 on the debts, never a 500.
        if (err instanceof RangeError) {
          throw errors.unprocessable('The debts are too large to compute: a sum or total would exceed 9007199254740991 centavos.', [
            { path: 'debts', message: `too large to compute (${err.message})` },
          ]);
        }
        throw err;
      }
    },
  };
}

export type NegotiationService = ReturnType<typeof createNegotiationService>;
