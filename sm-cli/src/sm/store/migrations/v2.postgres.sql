-- Schema step 2 for PostgreSQL: v2.sqlite.sql in PostgreSQL's types.
CREATE TABLE smdp_orders (
    matching_id    TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    eid            TEXT,
    cc_hash        BYTEA CHECK (cc_hash IS NULL OR length(cc_hash) = 32),
    cc_failures    BIGINT NOT NULL DEFAULT 0 CHECK (cc_failures >= 0),
    source         TEXT NOT NULL CHECK (source IN ('subscription', 'package')),
    op_id          TEXT COLLATE "C" REFERENCES subscriptions (op_id),
    package        BYTEA,
    iccid          TEXT NOT NULL,
    smdp_address   TEXT NOT NULL,
    state          TEXT NOT NULL
                   CHECK (state IN ('released', 'bound', 'downloaded', 'failed', 'cancelled')),
    transaction_id BYTEA,
    bound_eid      TEXT,
    euicc_cert     BYTEA,
    created_at     TEXT COLLATE "C" NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK ((source = 'subscription') = (op_id IS NOT NULL)),
    CHECK ((source = 'package') = (package IS NOT NULL)),
    CHECK (state = 'released' OR state = 'cancelled' OR state = 'failed'
           OR transaction_id IS NOT NULL)
);
CREATE UNIQUE INDEX smdp_orders_by_transaction ON smdp_orders (transaction_id)
    WHERE transaction_id IS NOT NULL;

CREATE TABLE smdp_sessions (
    transaction_id   BYTEA PRIMARY KEY NOT NULL CHECK (length(transaction_id) BETWEEN 1 AND 16),
    state            TEXT NOT NULL CHECK (state IN ('initiated', 'authenticated', 'bound')),
    server_challenge BYTEA NOT NULL CHECK (length(server_challenge) = 16),
    ci_pkid          BYTEA NOT NULL,
    matching_id      TEXT,
    eid              TEXT,
    euicc_cert       BYTEA,
    smdp_signature2  BYTEA,
    cc_required      BIGINT NOT NULL DEFAULT 0 CHECK (cc_required IN (0, 1)),
    created_at_ms    BIGINT NOT NULL,
    expires_at_ms    BIGINT NOT NULL,
    CHECK (state = 'initiated' OR (matching_id IS NOT NULL AND euicc_cert IS NOT NULL
                                   AND smdp_signature2 IS NOT NULL))
);
CREATE INDEX smdp_sessions_by_expiry ON smdp_sessions (expires_at_ms);
