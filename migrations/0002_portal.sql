CREATE TABLE "debtor_links" (
	"id" uuid PRIMARY KEY NOT NULL,
	"creditor_id" uuid NOT NULL,
	"cpf" text NOT NULL,
	"token_hash" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"failed_attempts" integer DEFAULT 0 NOT NULL,
	"locked_until" timestamp with time zone,
	"lockouts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "debtor_links_token_hash_key" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "offers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"creditor_id" uuid NOT NULL,
	"cpf" text NOT NULL,
	"session_id" text NOT NULL,
	"link_id" uuid NOT NULL,
	"debt_ids" bigint[] NOT NULL,
	"policy_version" integer NOT NULL,
	"as_of" date NOT NULL,
	"first_due_date" date NOT NULL,
	"kind" text NOT NULL,
	"installments" integer NOT NULL,
	"terms" jsonb NOT NULL,
	"terms_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "offers_kind_valid" CHECK ("offers"."kind" IN ('cash', 'installments'))
);
--> statement-breakpoint
CREATE TABLE "portal_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"link_id" uuid NOT NULL,
	"creditor_id" uuid NOT NULL,
	"cpf" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "agreement_debts" (
	"agreement_id" uuid NOT NULL,
	"creditor_id" uuid NOT NULL,
	"debt_id" bigint NOT NULL,
	"external_id" text NOT NULL,
	"description" text,
	"due_date" date NOT NULL,
	"principal_cents" bigint NOT NULL,
	"balance_cents" bigint NOT NULL,
	CONSTRAINT "agreement_debts_agreement_id_debt_id_pk" PRIMARY KEY("agreement_id","debt_id")
);
--> statement-breakpoint
CREATE TABLE "agreements" (
	"id" uuid PRIMARY KEY NOT NULL,
	"creditor_id" uuid NOT NULL,
	"cpf" text NOT NULL,
	"link_id" uuid NOT NULL,
	"offer_id" uuid NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"total_cents" bigint NOT NULL,
	"discount_cents" bigint NOT NULL,
	"installments" integer NOT NULL,
	"installment_monthly_rate_pct" double precision NOT NULL,
	"effective_monthly_rate_pct" double precision NOT NULL,
	"effective_annual_rate_pct" double precision NOT NULL,
	"policy_version" integer NOT NULL,
	"policy" jsonb NOT NULL,
	"paid_cents" bigint DEFAULT 0 NOT NULL,
	"accepted_at" timestamp with time zone NOT NULL,
	"consent_ip" text NOT NULL,
	"consent_user_agent" text NOT NULL,
	"terms_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "agreements_offer_id_key" UNIQUE("offer_id"),
	CONSTRAINT "agreements_status_valid" CHECK ("agreements"."status" IN ('pending', 'active', 'completed', 'broken', 'expired', 'cancelled'))
);
--> statement-breakpoint
CREATE TABLE "parcels" (
	"agreement_id" uuid NOT NULL,
	"creditor_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"due_date" date NOT NULL,
	"amount_cents" bigint NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"paid_at" timestamp with time zone,
	CONSTRAINT "parcels_agreement_id_number_pk" PRIMARY KEY("agreement_id","number"),
	CONSTRAINT "parcels_status_valid" CHECK ("parcels"."status" IN ('pending', 'processing', 'paid', 'overdue', 'cancelled')),
	CONSTRAINT "parcels_amount_positive" CHECK ("parcels"."amount_cents" > 0)
);
--> statement-breakpoint
ALTER TABLE "debtor_links" ADD CONSTRAINT "debtor_links_creditor_id_creditors_id_fk" FOREIGN KEY ("creditor_id") REFERENCES "public"."creditors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "debtor_links" ADD CONSTRAINT "debtor_links_cpf_debtors_cpf_fk" FOREIGN KEY ("cpf") REFERENCES "public"."debtors"("cpf") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_creditor_id_creditors_id_fk" FOREIGN KEY ("creditor_id") REFERENCES "public"."creditors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_session_id_portal_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."portal_sessions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_link_id_debtor_links_id_fk" FOREIGN KEY ("link_id") REFERENCES "public"."debtor_links"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "portal_sessions" ADD CONSTRAINT "portal_sessions_link_id_debtor_links_id_fk" FOREIGN KEY ("link_id") REFERENCES "public"."debtor_links"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "portal_sessions" ADD CONSTRAINT "portal_sessions_creditor_id_creditors_id_fk" FOREIGN KEY ("creditor_id") REFERENCES "public"."creditors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreement_debts" ADD CONSTRAINT "agreement_debts_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreement_debts" ADD CONSTRAINT "agreement_debts_debt_fk" FOREIGN KEY ("creditor_id","debt_id") REFERENCES "public"."debts"("creditor_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_creditor_id_creditors_id_fk" FOREIGN KEY ("creditor_id") REFERENCES "public"."creditors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_link_id_debtor_links_id_fk" FOREIGN KEY ("link_id") REFERENCES "public"."debtor_links"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_offer_id_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."offers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "parcels" ADD CONSTRAINT "parcels_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "debtor_links_creditor_cpf_idx" ON "debtor_links" USING btree ("creditor_id","cpf");--> statement-breakpoint
CREATE INDEX "offers_session_idx" ON "offers" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "offers_expires_idx" ON "offers" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "portal_sessions_link_idx" ON "portal_sessions" USING btree ("link_id");--> statement-breakpoint
CREATE INDEX "agreement_debts_debt_idx" ON "agreement_debts" USING btree ("creditor_id","debt_id");--> statement-breakpoint
CREATE INDEX "agreements_creditor_created_idx" ON "agreements" USING btree ("creditor_id","created_at","id");--> statement-breakpoint
CREATE INDEX "agreements_creditor_cpf_idx" ON "agreements" USING btree ("creditor_id","cpf");--> statement-breakpoint
CREATE INDEX "agreements_link_idx" ON "agreements" USING btree ("link_id");--> statement-breakpoint
CREATE INDEX "agreements_live_idx" ON "agreements" USING btree ("status") WHERE "agreements"."status" IN ('pending', 'active');--> statement-breakpoint
CREATE INDEX "parcels_unpaid_due_idx" ON "parcels" USING btree ("due_date") WHERE "parcels"."status" IN ('pending', 'processing', 'overdue');