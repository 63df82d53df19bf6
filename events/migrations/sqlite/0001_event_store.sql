-- The append-only log. Positions are assigned by the single writer inside BEGIN IMMEDIATE,
-- so they are strictly increasing in commit order.
CREATE TABLE events (
    position      INTEGER PRIMARY KEY,
    stream        TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    event_type    TEXT    NOT NULL,
    schema        INTEGER NOT NULL,
    data          TEXT    NOT NULL,
    metadata      TEXT    NOT NULL,
    recorded_at   TEXT    NOT NULL,
    UNIQUE (stream, version)
);

-- One row per successful command: a repeated command id returns this outcome, appends nothing.
CREATE TABLE commands (
    command_id      TEXT    PRIMARY KEY,
    first_position  INTEGER NOT NULL,
    last_position   INTEGER NOT NULL,
    streams         TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL
);

CREATE TABLE checkpoints (
    subscriber  TEXT    PRIMARY KEY,
    position    INTEGER NOT NULL,
    updated_at  TEXT    NOT NULL
);

-- Refuse rewriting history even by hand.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
