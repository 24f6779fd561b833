CREATE TABLE "payments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"creditor_id" uuid NOT NULL,
	"agreement_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"parcel_number" integer,
	"amount_cents" bigint NOT NULL,
	"method" text NOT NULL,
	"provider" text NOT NULL,
	"provider_ref" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"failure_message" text,
	"display" jsonb,
	"provider_event_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"paid_at" timestamp with time zone,
	CONSTRAINT "payments_provider_ref_key" UNIQUE("provider_ref"),
	CONSTRAINT "payments_kind_valid" CHECK ("payments"."kind" IN ('parcel', 'payoff')),
	CONSTRAINT "payments_parcel_number" CHECK (("payments"."kind" = 'parcel') = ("payments"."parcel_number" IS NOT NULL)),
	CONSTRAINT "payments_method_valid" CHECK ("payments"."method" IN ('pix', 'boleto', 'card', 'sandbox')),
	CONSTRAINT "payments_provider_valid" CHECK ("payments"."provider" IN ('sandbox', 'stripe')),
	CONSTRAINT "payments_status_valid" CHECK ("payments"."status" IN ('pending', 'processing', 'succeeded', 'failed')),
	CONSTRAINT "payments_amount_positive" CHECK ("payments"."amount_cents" > 0)
);
--> statement-breakpoint
CREATE TABLE "stripe_events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"creditor_id" uuid,
	"payment_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "parcels" ADD COLUMN "due_soon_notified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "parcels" ADD COLUMN "overdue_notified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_creditor_id_creditors_id_fk" FOREIGN KEY ("creditor_id") REFERENCES "public"."creditors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "payments_agreement_idx" ON "payments" USING btree ("agreement_id","created_at");--> statement-breakpoint
CREATE INDEX "payments_creditor_created_idx" ON "payments" USING btree ("creditor_id","created_at","id");