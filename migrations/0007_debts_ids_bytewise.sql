-- debts.external_id and debts.cpf compare as bytes (COLLATE "C"). Both are identifiers: a
-- creditor's own code and eleven digits, never text to sort for a reader. In a language
-- collation every comparison goes through the C library's strcoll, and a bulk import does
-- tens of them per row in the unique (creditor_id, external_id) and the (creditor_id, cpf)
-- indexes: about a tenth of PostgreSQL's work in a million-row import. Byte order also
-- lets intake bound a batch's ids by their lowest and highest whatever the database's
-- locale (see idsCompareAsBytes). Equality is unchanged (deterministic collations compare
-- equal only what is equal byte for byte); comparing with a column of the default collation
-- uses this one. Rebuilds the two indexes.
ALTER TABLE "debts" ALTER COLUMN "external_id" SET DATA TYPE text COLLATE "C", ALTER COLUMN "cpf" SET DATA TYPE text COLLATE "C";
