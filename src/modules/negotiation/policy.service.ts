// Policies are immutable versions: each PUT adds one; version 0 is the contract's defaults.
import { and, desc, eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { creditors, policyVersions } from '../../db/schema/index.js';
import { errors } from '../../lib/errors.js';
import { defaultPolicy, type Policy } from './policy.js';

export interface PolicyVersion {
  version: number;
  policy: Policy;
}

export function createPolicyService(deps: { db: Executor }) {
  const { db } = deps;
  return {
    /** The creditor's current policy: its latest version, or version 0. */
    async current(creditorId: string, tx: Executor = db): Promise<PolicyVersion> {
      const [row] = await tx
        .select({ version: policyVersions.version, policy: policyVersions.policy })
        .from(policyVersions)
        .where(eq(policyVersions.creditorId, creditorId))
        .orderBy(desc(policyVersions.version))
        .limit(1);
      return row ? { version: row.version, policy: row.policy as Policy } : { version: 0, policy: defaultPolicy() };
    },

    /** One version, as it was (offers and agreements name the version they were made under). */
    async version(creditorId: string, version: number, tx: Executor = db): Promise<PolicyVersion> {
      if (version === 0) return { version: 0, policy: defaultPolicy() };
      const [row] = await tx
        .select({ version: policyVersions.version, policy: policyVersions.policy })
        .from(policyVersions)
        .where(and(eq(policyVersions.creditorId, creditorId), eq(policyVersions.version, version)));
      if (!row) throw errors.notFound('Policy version');
      return { version: row.version, policy: row.policy as Policy };
    },

    /** Stores a new version (the input already validated against the creditor's bounds). */
    async replace(creditorId: string, policy: Policy, at: Date): Promise<PolicyVersion> {
      const run = async (tx: Executor) => {
        // Serialise concurrent PUTs of one creditor on its row.
        await tx.select({ id: creditors.id }).from(creditors).where(eq(creditors.id, creditorId)).for('update');
        const { version } = await this.current(creditorId, tx);
        const next = version + 1;
        await tx.insert(policyVersions).values({ creditorId, version: next, policy, createdAt: at });
        return { version: next, policy };
      };
      return 'transaction' in db ? (db as { transaction: <T>(f: (tx: Executor) => Promise<T>) => Promise<T> }).transaction(run) : run(db);
    },

    async isFinancialInstitution(creditorId: string, tx: Executor = db): Promise<boolean> {
      const [row] = await tx.select({ fi: creditors.financialInstitution }).from(creditors).where(eq(creditors.id, creditorId));
      if (!row) throw errors.notFound('Creditor');
      return row.fi;
    },
  };
}

export type PolicyService = ReturnType<typeof createPolicyService>;
