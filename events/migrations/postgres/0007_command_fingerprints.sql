-- An idempotency key answers only for the request it was first used for: the digest of that
-- request (operation, target, body, actor) is kept beside the key, and a request that repeats a
-- key with another digest gets `reused` and writes nothing. Otherwise as 0006.
ALTER TABLE commands ADD COLUMN fingerprint TEXT;

CREATE OR REPLACE FUNCTION schalter_append_batch(requests jsonb, recorded timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    req        jsonb;
    existing   record;
    results    jsonb[] := '{}';
    start_head bigint;
    head       bigint;
    conflict   jsonb;
    streams    jsonb;
    written    int;
BEGIN
    PERFORM pg_advisory_xact_lock(91548440153172);
    SELECT COALESCE(MAX(position), 0) INTO head FROM events;
    start_head := head;

    FOR req IN SELECT value FROM jsonb_array_elements(requests) LOOP
        IF req->>'command_id' IS NOT NULL THEN
            SELECT c.first_position, c.last_position, c.streams, c.fingerprint INTO existing
              FROM commands c WHERE c.command_id = req->>'command_id';
            IF FOUND AND existing.fingerprint IS DISTINCT FROM req->>'fingerprint' THEN
                results := array_append(results, jsonb_build_object('reused', jsonb_build_object(
                    'command_id', req->>'command_id')));
                CONTINUE;
            END IF;
            IF FOUND THEN
                results := array_append(results, jsonb_build_object('ok', jsonb_build_object(
                    'first_position', existing.first_position, 'last_position', existing.last_position,
                    'streams', existing.streams, 'duplicate', true)));
                CONTINUE;
            END IF;
        END IF;

        SELECT jsonb_build_object('conflict', jsonb_build_object('stream', x.stream, 'actual', x.actual))
          INTO conflict
          FROM (SELECT e.ord, e.value->>'stream' AS stream, e.value->>'kind' AS kind,
                       (e.value->>'version')::bigint AS version,
                       (SELECT COALESCE(MAX(v.version), 0) FROM events v WHERE v.stream = e.value->>'stream') AS actual
                  FROM jsonb_array_elements(req->'expectations') WITH ORDINALITY e(value, ord)) x
         WHERE (x.kind = 'no_stream' AND x.actual <> 0) OR (x.kind = 'at' AND x.actual <> x.version)
         ORDER BY x.ord LIMIT 1;
        IF conflict IS NOT NULL THEN
            results := array_append(results, conflict);
            CONTINUE;
        END IF;

        WITH ev AS (
            SELECT e.value AS body, e.ord, e.value->>'stream' AS stream,
                   row_number() OVER (PARTITION BY e.value->>'stream' ORDER BY e.ord) AS nth
              FROM jsonb_array_elements(req->'events') WITH ORDINALITY e(value, ord)
        ), cur AS (
            SELECT s.stream, (SELECT COALESCE(MAX(v.version), 0) FROM events v WHERE v.stream = s.stream) AS version
              FROM (SELECT DISTINCT stream FROM ev) s
        ), ins AS (
            INSERT INTO events (position, stream, version, event_type, schema, data, metadata, recorded_at)
            SELECT head + ev.ord, ev.stream, cur.version + ev.nth, ev.body->>'event_type', (ev.body->>'schema')::int,
                   ev.body->'data', req->'metadata', recorded
              FROM ev JOIN cur USING (stream)
            RETURNING stream, version
        )
        SELECT COALESCE(jsonb_agg(jsonb_build_object('stream', t.stream, 'version', t.version) ORDER BY t.stream), '[]'::jsonb),
               COALESCE(SUM(t.n), 0)
          INTO streams, written
          FROM (SELECT ins.stream, MAX(ins.version) AS version, COUNT(*) AS n FROM ins GROUP BY ins.stream) t;

        INSERT INTO data_keys (id, wrapped, created_at)
        SELECT k->>'id', decode(k->>'wrapped', 'hex'), recorded
          FROM jsonb_array_elements(COALESCE(req->'data_keys', '[]'::jsonb)) k;
        IF req->>'command_id' IS NOT NULL THEN
            INSERT INTO commands (command_id, first_position, last_position, streams, recorded_at, fingerprint)
            VALUES (req->>'command_id', head + 1, head + written, streams, recorded, req->>'fingerprint');
        END IF;
        results := array_append(results, jsonb_build_object('ok', jsonb_build_object(
            'first_position', head + 1, 'last_position', head + written, 'streams', streams, 'duplicate', false)));
        head := head + written;
    END LOOP;

    IF head > start_head THEN
        PERFORM pg_notify('schalter_events', head::text);
    END IF;
    RETURN to_jsonb(results);
END $$;
