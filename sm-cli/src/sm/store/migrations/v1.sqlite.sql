CREATE TABLE subscriptions (
    op_id                    TEXT PRIMARY KEY NOT NULL,
    iccid                    TEXT NOT NULL UNIQUE,
    imsi                     TEXT NOT NULL,
    msisdn                   TEXT NOT NULL,
    ki                       BLOB NOT NULL CHECK (length(ki) IN (16, 32)),
    opc                      BLOB NOT NULL CHECK (length(opc) IN (16, 32)),
    spn                      TEXT NOT NULL,
    profile_name             TEXT NOT NULL,
    public_key               BLOB NOT NULL,
    kdf_salt                 BLOB NOT NULL,
    kdf_params               BLOB NOT NULL,
    imei                     TEXT NOT NULL,
    eid                      TEXT NOT NULL,
    identity_public_key      BLOB NOT NULL,
    prev_imei                TEXT,
    prev_eid                 TEXT,
    prev_identity_public_key BLOB,
    prev_stopped_at          TEXT,
    failures                 INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    total_failures           INTEGER NOT NULL DEFAULT 0 CHECK (total_failures >= failures),
    locked                   INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    locked_at                TEXT,
    delivery                 TEXT NOT NULL CHECK (delivery IN ('pending', 'delivered')),
    delivered_eid            TEXT,
    delivered_at             TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    CHECK ((locked = 1) = (locked_at IS NOT NULL)),
    CHECK ((delivery = 'delivered') = (delivered_eid IS NOT NULL AND delivered_at IS NOT NULL)),
    CHECK ((prev_eid IS NULL) = (prev_imei IS NULL))
) STRICT;
CREATE INDEX subscriptions_by_eid ON subscriptions (eid);

-- The lifetime failure count only grows (issue 5: counters never go backwards).
CREATE TRIGGER subscriptions_total_failures_monotone
BEFORE UPDATE OF total_failures ON subscriptions
WHEN NEW.total_failures < OLD.total_failures
BEGIN
    SELECT RAISE(ABORT, 'total_failures never decreases');
END;

-- MNO bindings (spec B.7, steps 515-518): at most one active per subscription.
CREATE TABLE bindings (
    id          INTEGER PRIMARY KEY,
    op_id       TEXT NOT NULL REFERENCES subscriptions (op_id),
    imei        TEXT NOT NULL,
    eid         TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'stopped')),
    started_at  TEXT NOT NULL,
    stopped_at  TEXT,
    stop_reason TEXT,
    CHECK ((state = 'stopped') = (stopped_at IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX bindings_one_active ON bindings (op_id) WHERE state = 'active';
CREATE INDEX bindings_by_op ON bindings (op_id, id);

-- Profiles an old card must delete after a device change.
CREATE TABLE removals (
    id                  INTEGER PRIMARY KEY,
    op_id               TEXT NOT NULL REFERENCES subscriptions (op_id),
    iccid               TEXT NOT NULL,
    eid                 TEXT NOT NULL,
    imei                TEXT NOT NULL,
    identity_public_key BLOB NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'cancelled')),
    requested_at        TEXT NOT NULL,
    closed_at           TEXT,
    CHECK ((state = 'pending') = (closed_at IS NULL))
) STRICT;
CREATE UNIQUE INDEX removals_one_pending ON removals (op_id, eid) WHERE state = 'pending';
CREATE INDEX removals_pending_by_eid ON removals (eid) WHERE state = 'pending';

-- Audit log: append-only.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    op_id   TEXT NOT NULL,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    result  TEXT NOT NULL,
    details TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_op ON audit (op_id, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Outstanding SM challenges (spec "No replay"): single use, expiring.
CREATE TABLE challenges (
    value         BLOB PRIMARY KEY,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('op-id', 'eid')),
    subject       TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    issued_at_ms  INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX challenges_by_expiry ON challenges (expires_at_ms);
