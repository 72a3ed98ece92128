-- The experiment store. Portable SQL: the same file runs on SQLite and
-- PostgreSQL, so keys are text (content hashes) rather than serial ids,
-- integers are BIGINT, reals DOUBLE PRECISION and times are Unix milliseconds.

CREATE TABLE experiments (
    name        TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    config      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Each resolved variant once, by content hash: editing a variant file makes a
-- new snapshot and leaves the old one (and its runs) alone.
CREATE TABLE variant_snapshots (
    hash        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    resolved    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- One row per run identity: experiment x variant hash x dataset x proportion
-- x seed (x profile); id is the SHA-256 of that identity.
CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    experiment    TEXT NOT NULL REFERENCES experiments(name),
    ordinal       BIGINT NOT NULL,
    variant_hash  TEXT NOT NULL REFERENCES variant_snapshots(hash),
    variant_name  TEXT NOT NULL,
    dataset       TEXT NOT NULL,
    proportion    DOUBLE PRECISION NOT NULL,
    seed          BIGINT NOT NULL,
    profile       TEXT NOT NULL,
    stage1_key    TEXT,
    spec          TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    failures      BIGINT NOT NULL DEFAULT 0,
    worker        TEXT,
    host          TEXT,
    pid           BIGINT,
    device        TEXT,
    git_revision  TEXT,
    git_dirty     BIGINT,
    libtorch      TEXT,
    stage1_reused BIGINT,
    started_at    BIGINT,
    heartbeat_at  BIGINT,
    finished_at   BIGINT,
    error         TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX runs_by_experiment_status ON runs (experiment, status, ordinal);
CREATE INDEX runs_by_status ON runs (status, ordinal);

-- Per-epoch metrics, written in batches; the key makes a rewrite by a
-- retried attempt replace rather than duplicate.
CREATE TABLE metrics (
    run_id  TEXT NOT NULL REFERENCES runs(id),
    stage   TEXT NOT NULL,
    epoch   BIGINT NOT NULL,
    name    TEXT NOT NULL,
    value   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, stage, epoch, name)
);

-- Final accuracies: the mean per split, then one row per attribute.
CREATE TABLE results (
    run_id         TEXT NOT NULL REFERENCES runs(id),
    split          TEXT NOT NULL CHECK (split IN ('val', 'test')),
    mean_accuracy  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, split)
);
CREATE TABLE attribute_results (
    run_id     TEXT NOT NULL REFERENCES runs(id),
    split      TEXT NOT NULL CHECK (split IN ('val', 'test')),
    attribute  TEXT NOT NULL,
    accuracy   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, split, attribute)
);

-- Stage-1 models shared between runs. A row in 'training' is a claim: the
-- worker that holds it trains, others wait; 'ready' rows carry the checksum
-- that every load verifies.
CREATE TABLE stage1_artifacts (
    key           TEXT PRIMARY KEY,
    status        TEXT NOT NULL CHECK (status IN ('training', 'ready')),
    worker        TEXT NOT NULL,
    host          TEXT NOT NULL,
    pid           BIGINT NOT NULL,
    path          TEXT,
    checksum      TEXT,
    heartbeat_at  BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Parameters and FLOPs of the models a run built, per stage.
CREATE TABLE model_stats (
    run_id  TEXT NOT NULL REFERENCES runs(id),
    stage   TEXT NOT NULL,
    params  BIGINT NOT NULL,
    flops   BIGINT NOT NULL,
    PRIMARY KEY (run_id, stage)
);
