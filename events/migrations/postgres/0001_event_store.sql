-- The append-only log. Appends are serialised by a transaction-level advisory lock that is
-- released only after the commit is visible, so positions are strictly increasing in commit
-- order and a reader by position never skips an event that commits later with a lower number.
CREATE TABLE events (
    position      BIGINT      PRIMARY KEY,
    stream        TEXT        NOT NULL,
    version       BIGINT      NOT NULL,
    event_type    TEXT        NOT NULL,
    schema        INTEGER     NOT NULL,
    data          JSONB       NOT NULL,
    metadata      JSONB       NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (stream, version)
);

CREATE TABLE commands (
    command_id      TEXT        PRIMARY KEY,
    first_position  BIGINT      NOT NULL,
    last_position   BIGINT      NOT NULL,
    streams         JSONB       NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE checkpoints (
    subscriber  TEXT        PRIMARY KEY,
    position    BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable';
END $$;
CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();
