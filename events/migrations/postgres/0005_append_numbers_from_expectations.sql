-- The version each expected stream was checked at is remembered, so an event on such a stream
-- is numbered from it instead of asking the table again (a booking expects all three streams it
-- writes: three index lookups fewer per booking, inside the append lock). Otherwise as in 0004.
CREATE OR REPLACE FUNCTION schalter_append_batch(requests jsonb, recorded timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    req        jsonb;
    ev         jsonb;
    exp        record;
    existing   record;
    results    jsonb := '[]'::jsonb;
    start_head bigint;
    head       bigint;
    first_pos  bigint;
    actual     bigint;
    ver        bigint;
    versions   jsonb;
    conflict   jsonb;
    streams    jsonb;
    checked    jsonb;
BEGIN
    -- Released only after the commit is visible: positions increase in commit order.
    PERFORM pg_advisory_xact_lock(91548440153172);
    SELECT COALESCE(MAX(position), 0) INTO head FROM events;
    start_head := head;

    FOR req IN SELECT value FROM jsonb_array_elements(requests) LOOP
        IF req->>'command_id' IS NOT NULL THEN
            SELECT c.first_position, c.last_position, c.streams INTO existing
              FROM commands c WHERE c.command_id = req->>'command_id';
            IF FOUND THEN
                results := results || jsonb_build_array(jsonb_build_object('ok', jsonb_build_object(
                    'first_position', existing.first_position, 'last_position', existing.last_position,
                    'streams', existing.streams, 'duplicate', true)));
                CONTINUE;
            END IF;
        END IF;

        conflict := NULL;
        checked := '{}'::jsonb;
        FOR exp IN SELECT e->>'stream' AS stream, e->>'kind' AS kind, (e->>'version')::bigint AS version
                     FROM jsonb_array_elements(req->'expectations') e LOOP
            CONTINUE WHEN exp.kind = 'any';
            SELECT COALESCE(MAX(version), 0) INTO actual FROM events WHERE stream = exp.stream;
            IF (exp.kind = 'no_stream' AND actual <> 0) OR (exp.kind = 'at' AND actual <> exp.version) THEN
                conflict := jsonb_build_object('conflict', jsonb_build_object('stream', exp.stream, 'actual', actual));
                EXIT;
            END IF;
            checked := checked || jsonb_build_object(exp.stream, actual);
        END LOOP;
        IF conflict IS NOT NULL THEN
            results := results || jsonb_build_array(conflict);
            CONTINUE;
        END IF;

        first_pos := head + 1;
        versions := '{}'::jsonb;
        FOR ev IN SELECT value FROM jsonb_array_elements(req->'events') LOOP
            IF versions ? (ev->>'stream') THEN
                ver := (versions->>(ev->>'stream'))::bigint + 1;
            ELSIF checked ? (ev->>'stream') THEN
                ver := (checked->>(ev->>'stream'))::bigint + 1;
            ELSE
                SELECT COALESCE(MAX(version), 0) + 1 INTO ver FROM events WHERE stream = ev->>'stream';
            END IF;
            versions := versions || jsonb_build_object(ev->>'stream', ver);
            head := head + 1;
            INSERT INTO events (position, stream, version, event_type, schema, data, metadata, recorded_at)
            VALUES (head, ev->>'stream', ver, ev->>'event_type', (ev->>'schema')::int, ev->'data', req->'metadata', recorded);
        END LOOP;
        INSERT INTO data_keys (id, wrapped, created_at)
        SELECT k->>'id', decode(k->>'wrapped', 'hex'), recorded
          FROM jsonb_array_elements(COALESCE(req->'data_keys', '[]'::jsonb)) k;
        SELECT COALESCE(jsonb_agg(jsonb_build_object('stream', key, 'version', value::bigint) ORDER BY key), '[]'::jsonb)
          INTO streams FROM jsonb_each_text(versions);
        IF req->>'command_id' IS NOT NULL THEN
            INSERT INTO commands (command_id, first_position, last_position, streams, recorded_at)
            VALUES (req->>'command_id', first_pos, head, streams, recorded);
        END IF;
        results := results || jsonb_build_array(jsonb_build_object('ok', jsonb_build_object(
            'first_position', first_pos, 'last_position', head, 'streams', streams, 'duplicate', false)));
    END LOOP;

    IF head > start_head THEN
        PERFORM pg_notify('schalter_events', head::text);
    END IF;
    RETURN results;
END $$;
