-- Data keys of the personal-data vault. They live outside the immutable log so that erasing
-- one makes a booking's sealed personal data unreadable for ever (retention, GDPR art. 17).
CREATE TABLE data_keys (
    id          TEXT PRIMARY KEY,
    wrapped     BLOB,
    created_at  TEXT NOT NULL,
    erased_at   TEXT
);
