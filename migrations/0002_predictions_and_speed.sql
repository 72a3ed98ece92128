-- Predictions on the test split (the paper's Fig. 7) and inference speed
-- (Tables 10-11). Portable SQL, like 0001: runs on SQLite and PostgreSQL.

-- Pearson correlation between attributes over the test images of a run:
-- 'predicted' correlates the predicted probabilities of the epoch chosen on
-- validation, 'truth' the ground-truth labels (pairwise over images where both
-- labels are defined). Matrices are JSON: the attribute names, and the
-- row-major values with null where a correlation is undefined (an attribute
-- that is constant over the images).
CREATE TABLE correlations (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    source      TEXT NOT NULL CHECK (source IN ('predicted', 'truth')),
    images      BIGINT NOT NULL,
    attributes  TEXT NOT NULL,
    matrix      TEXT NOT NULL,
    PRIMARY KEY (run_id, source)
);

-- Files a finished run wrote besides the database (the raw test predictions),
-- with the SHA-256 a reader verifies.
CREATE TABLE run_artifacts (
    run_id    TEXT NOT NULL REFERENCES runs(id),
    kind      TEXT NOT NULL,
    path      TEXT NOT NULL,
    checksum  TEXT NOT NULL,
    bytes     BIGINT NOT NULL,
    PRIMARY KEY (run_id, kind)
);

-- Inference speed of a stage's model in eval mode under no_grad, on the
-- run's device: milliseconds per image at batch 1, images per second at
-- throughput_batch. NULL when not measured (rows of older runs, stage 1).
ALTER TABLE model_stats ADD COLUMN device TEXT;
ALTER TABLE model_stats ADD COLUMN latency_ms DOUBLE PRECISION;
ALTER TABLE model_stats ADD COLUMN images_per_s DOUBLE PRECISION;
ALTER TABLE model_stats ADD COLUMN throughput_batch BIGINT;
