CREATE TABLE "creditor_credentials" (
	"client_id" text PRIMARY KEY NOT NULL,
	"creditor_id" uuid NOT NULL,
	"secret_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "creditors" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"document" text NOT NULL,
	"street" text NOT NULL,
	"city" text NOT NULL,
	"state" text NOT NULL,
	"postal_code" text NOT NULL,
	"email" text NOT NULL,
	"phone" text,
	"pix_key" text,
	"financial_institution" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "creditors_document_unique" UNIQUE("document")
);
--> statement-breakpoint
CREATE TABLE "policy_versions" (
	"creditor_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"policy" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policy_versions_creditor_id_version_pk" PRIMARY KEY("creditor_id","version")
);
--> statement-breakpoint
CREATE TABLE "debtors" (
	"cpf" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "debts" (
	"creditor_id" uuid NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "debts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"external_id" text NOT NULL,
	"cpf" text NOT NULL,
	"name" text NOT NULL,
	"email" text,
	"phone" text,
	"amount_cents" bigint NOT NULL,
	"credited_cents" bigint DEFAULT 0 NOT NULL,
	"due_date" date NOT NULL,
	"description" text,
	"status" text DEFAULT 'open' NOT NULL,
	"withdrawn_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "debts_creditor_id_id_pk" PRIMARY KEY("creditor_id","id"),
	CONSTRAINT "debts_creditor_external_id_key" UNIQUE("creditor_id","external_id"),
	CONSTRAINT "debts_amount_positive" CHECK ("debts"."amount_cents" > 0),
	CONSTRAINT "debts_credited_range" CHECK ("debts"."credited_cents" >= 0 AND "debts"."credited_cents" <= "debts"."amount_cents"),
	CONSTRAINT "debts_status_valid" CHECK ("debts"."status" IN ('open', 'in_agreement', 'settled', 'withdrawn', 'prescribed'))
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"status_code" integer,
	"response_body" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_scope_key_pk" PRIMARY KEY("scope","key")
);
--> statement-breakpoint
CREATE TABLE "import_errors" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"import_id" uuid NOT NULL,
	"creditor_id" uuid NOT NULL,
	"line" integer NOT NULL,
	"column" text,
	"message" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "import_rows" (
	"import_id" uuid NOT NULL,
	"line" integer NOT NULL,
	"external_id" text NOT NULL,
	"cpf" text NOT NULL,
	"name" text NOT NULL,
	"email" text,
	"phone" text,
	"amount_cents" bigint NOT NULL,
	"due_date" date NOT NULL,
	"description" text,
	CONSTRAINT "import_rows_amount_positive" CHECK ("import_rows"."amount_cents" > 0)
);
--> statement-breakpoint
CREATE TABLE "imports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"creditor_id" uuid NOT NULL,
	"status" text DEFAULT 'processing' NOT NULL,
	"phase" text DEFAULT 'upload' NOT NULL,
	"dry_run" boolean DEFAULT false NOT NULL,
	"rows_total" integer DEFAULT 0 NOT NULL,
	"rows_imported" integer DEFAULT 0 NOT NULL,
	"rows_rejected" integer DEFAULT 0 NOT NULL,
	"merged_through_line" integer DEFAULT 1 NOT NULL,
	"last_line" integer DEFAULT 1 NOT NULL,
	"error" text,
	"file_name" text,
	"file_sha256" text,
	"heartbeat_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "creditor_credentials" ADD CONSTRAINT "creditor_credentials_creditor_id_creditors_id_fk" FOREIGN KEY ("creditor_id") REFERENCES "public"."creditors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policy_versions" ADD CONSTRAINT "policy_versions_creditor_id_creditors_id_fk" FOREIGN KEY ("creditor_id") REFERENCES "public"."creditors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "debts" ADD CONSTRAINT "debts_creditor_id_creditors_id_fk" FOREIGN KEY ("creditor_id") REFERENCES "public"."creditors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_errors" ADD CONSTRAINT "import_errors_import_id_imports_id_fk" FOREIGN KEY ("import_id") REFERENCES "public"."imports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "imports" ADD CONSTRAINT "imports_creditor_id_creditors_id_fk" FOREIGN KEY ("creditor_id") REFERENCES "public"."creditors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "creditor_credentials_creditor_idx" ON "creditor_credentials" USING btree ("creditor_id");--> statement-breakpoint
CREATE INDEX "debts_creditor_cpf_idx" ON "debts" USING btree ("creditor_id","cpf");--> statement-breakpoint
CREATE INDEX "import_errors_import_line_idx" ON "import_errors" USING btree ("import_id","line");--> statement-breakpoint
CREATE INDEX "import_rows_import_line_idx" ON "import_rows" USING btree ("import_id","line");--> statement-breakpoint
CREATE INDEX "imports_creditor_created_idx" ON "imports" USING btree ("creditor_id","created_at","id");--> statement-breakpoint
CREATE INDEX "imports_processing_idx" ON "imports" USING btree ("status") WHERE "imports"."status" = 'processing';