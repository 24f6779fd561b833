-- debts.creditor_id → creditors: the guarantee of the foreign key it replaces, checked once
-- per statement instead of once per row (the row-by-row check was about half of the
-- database's time in a bulk import). Inserting debts locks their creditors FOR KEY SHARE,
-- as a foreign key check does, so a creditor cannot be deleted while they commit. Deleting
-- (or re-keying) a creditor looks for its debts with a fresh snapshot, which only READ
-- COMMITTED gives a trigger: under a stricter isolation level it is refused outright. The check
-- reads the statement's new rows from a transition table, kept in memory up to work_mem and
-- spilled to a temporary file beyond it: write debts in statements of thousands of rows,
-- not millions (intake COPYs 10,000 at a time).
ALTER TABLE "debts" DROP CONSTRAINT "debts_creditor_id_creditors_id_fk";
--> statement-breakpoint
CREATE FUNCTION "debts_check_creditors"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids uuid[];
  found integer;
BEGIN
  -- the distinct creditors first (one hashed pass), then only they are looked up and locked
  SELECT array_agg(g.creditor_id) INTO ids FROM (SELECT creditor_id FROM new_debts GROUP BY creditor_id) g;
  IF ids IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT count(*) INTO found FROM (SELECT 1 FROM "creditors" c WHERE c.id = ANY (ids) FOR KEY SHARE OF c) locked;
  IF found < cardinality(ids) THEN
    RAISE EXCEPTION 'insert into debts names a creditor that does not exist'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'debts', CONSTRAINT = 'debts_creditor_exists';
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "debts_creditor_exists" AFTER INSERT ON "debts"
  REFERENCING NEW TABLE AS new_debts FOR EACH STATEMENT EXECUTE FUNCTION "debts_check_creditors"();
--> statement-breakpoint
CREATE FUNCTION "debts_keep_creditor"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a debt never changes creditor'
    USING ERRCODE = 'foreign_key_violation', TABLE = 'debts', CONSTRAINT = 'debts_creditor_fixed';
END
$$;
--> statement-breakpoint
CREATE TRIGGER "debts_creditor_fixed" BEFORE UPDATE OF "creditor_id" ON "debts"
  FOR EACH ROW WHEN (NEW."creditor_id" IS DISTINCT FROM OLD."creditor_id") EXECUTE FUNCTION "debts_keep_creditor"();
--> statement-breakpoint
CREATE FUNCTION "creditors_keep_debts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'delete or re-key creditors under READ COMMITTED (a stricter snapshot could miss their newest debts)'
      USING ERRCODE = 'serialization_failure', TABLE = 'creditors', CONSTRAINT = 'debts_creditor_exists';
  END IF;
  IF EXISTS (SELECT 1 FROM "debts" d WHERE d.creditor_id = OLD.id) THEN
    RAISE EXCEPTION 'creditor % still has debts', OLD.id
      USING ERRCODE = 'foreign_key_violation', TABLE = 'creditors', CONSTRAINT = 'debts_creditor_exists';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "creditors_keep_debts_on_delete" BEFORE DELETE ON "creditors"
  FOR EACH ROW EXECUTE FUNCTION "creditors_keep_debts"();
--> statement-breakpoint
CREATE TRIGGER "creditors_keep_debts_on_update" BEFORE UPDATE OF "id" ON "creditors"
  FOR EACH ROW WHEN (NEW."id" IS DISTINCT FROM OLD."id") EXECUTE FUNCTION "creditors_keep_debts"();
