export * from './creditors.js';
export * from './policies.js';
export * from './debts.js';
export * from './idempotency.js';
