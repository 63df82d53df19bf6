-- The same rules and answers as 0008, with less work per request: most requests carry one event
-- and no or few expectations, and 0008 paid for the general case (window functions over the
-- events, a set query for expectations, inserts from empty arrays) on every one of them. Here
-- the common shapes take direct statements, and the general ones keep 0008's set queries.
CREATE OR REPLACE FUNCTION schalter_append_batch(requests jsonb, recorded timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    req        jsonb;
    ev         jsonb;
    expected   jsonb;
    cid        text;
    target     text;
    existing   record;
    results    jsonb[] := '{}';
    head       bigint;
    wanted     bigint;
    me         xid8;
    actual     bigint;
    streams    jsonb;
    written    int;
    keys       bigint[] := '{}';
BEGIN
    -- Rule 1 (0008): every stream written or expected and every command id, in one global order.
    -- Array walks by index are plain expressions, cheaper than a query per loop.
    wanted := 0;
    FOR i IN 0 .. jsonb_array_length(requests) - 1 LOOP
        req := requests->i;
        FOR j IN 0 .. jsonb_array_length(req->'events') - 1 LOOP
            keys := keys || hashtextextended(req->'events'->j->>'stream', 91548440153172);
        END LOOP;
        wanted := wanted + jsonb_array_length(req->'events');
        FOR j IN 0 .. jsonb_array_length(req->'expectations') - 1 LOOP
            expected := req->'expectations'->j;
            IF expected->>'kind' <> 'any' THEN
                keys := keys || hashtextextended(expected->>'stream', 91548440153172);
            END IF;
        END LOOP;
        IF req->>'command_id' IS NOT NULL THEN
            keys := keys || hashtextextended('command ' || (req->>'command_id'), 91548440153172);
        END IF;
    END LOOP;
    IF cardinality(keys) = 1 THEN
        PERFORM pg_advisory_xact_lock(keys[1]);
    ELSIF cardinality(keys) > 1 THEN
        PERFORM pg_advisory_xact_lock(k) FROM (SELECT DISTINCT k FROM unnest(keys) k ORDER BY 1) s;
    END IF;

    -- Rule 2 (0008). No exception block: on any error the server closes this connection, which
    -- ends the session lock too.
    PERFORM pg_advisory_lock(91548440153173);
    me := pg_current_xact_id();
    head := nextval('events_position') - 1;
    IF wanted > 1 THEN
        PERFORM setval('events_position', head + wanted);
    END IF;
    PERFORM pg_advisory_unlock(91548440153173);

    <<requests>>
    FOR i IN 0 .. jsonb_array_length(requests) - 1 LOOP
        req := requests->i;
        cid := req->>'command_id';
        IF cid IS NOT NULL THEN
            SELECT c.first_position, c.last_position, c.streams, c.fingerprint INTO existing
              FROM commands c WHERE c.command_id = cid;
            IF FOUND AND existing.fingerprint IS DISTINCT FROM req->>'fingerprint' THEN
                results := array_append(results, jsonb_build_object('reused', jsonb_build_object('command_id', cid)));
                CONTINUE;
            END IF;
            IF FOUND THEN
                results := array_append(results, jsonb_build_object('ok', jsonb_build_object(
                    'first_position', existing.first_position, 'last_position', existing.last_position,
                    'streams', existing.streams, 'duplicate', true)));
                CONTINUE;
            END IF;
        END IF;

        -- Expectations in the order given; the first that fails answers.
        FOR j IN 0 .. jsonb_array_length(req->'expectations') - 1 LOOP
            expected := req->'expectations'->j;
            CONTINUE WHEN expected->>'kind' = 'any';
            target := expected->>'stream';
            SELECT COALESCE(MAX(v.version), 0) INTO actual FROM events v WHERE v.stream = target;
            IF (expected->>'kind' = 'no_stream' AND actual <> 0)
               OR (expected->>'kind' = 'at' AND actual <> (expected->>'version')::bigint) THEN
                results := array_append(results, jsonb_build_object('conflict', jsonb_build_object(
                    'stream', target, 'actual', actual)));
                CONTINUE requests;
            END IF;
        END LOOP;

        IF jsonb_array_length(req->'events') = 1 THEN
            ev := req->'events'->0;
            target := ev->>'stream';
            SELECT COALESCE(MAX(v.version), 0) + 1 INTO actual FROM events v WHERE v.stream = target;
            INSERT INTO events (position, stream, version, event_type, schema, data, metadata, recorded_at, tx)
            VALUES (head + 1, target, actual, ev->>'event_type', (ev->>'schema')::int, ev->'data', req->'metadata',
                    recorded, me);
            streams := jsonb_build_array(jsonb_build_object('stream', target, 'version', actual));
            written := 1;
        ELSE
            WITH ev AS (
                SELECT e.value AS body, e.ord, e.value->>'stream' AS stream,
                       row_number() OVER (PARTITION BY e.value->>'stream' ORDER BY e.ord) AS nth
                  FROM jsonb_array_elements(req->'events') WITH ORDINALITY e(value, ord)
            ), cur AS (
                SELECT s.stream, (SELECT COALESCE(MAX(v.version), 0) FROM events v WHERE v.stream = s.stream) AS version
                  FROM (SELECT DISTINCT stream FROM ev) s
            ), ins AS (
                INSERT INTO events (position, stream, version, event_type, schema, data, metadata, recorded_at, tx)
                SELECT head + ev.ord, ev.stream, cur.version + ev.nth, ev.body->>'event_type', (ev.body->>'schema')::int,
                       ev.body->'data', req->'metadata', recorded, me
                  FROM ev JOIN cur USING (stream)
                RETURNING stream, version
            )
            SELECT COALESCE(jsonb_agg(jsonb_build_object('stream', t.stream, 'version', t.version) ORDER BY t.stream), '[]'::jsonb),
                   COALESCE(SUM(t.n), 0)
              INTO streams, written
              FROM (SELECT ins.stream, MAX(ins.version) AS version, COUNT(*) AS n FROM ins GROUP BY ins.stream) t;
        END IF;

        IF jsonb_array_length(req->'data_keys') > 0 THEN
            INSERT INTO data_keys (id, wrapped, created_at)
            SELECT k->>'id', decode(k->>'wrapped', 'hex'), recorded
              FROM jsonb_array_elements(req->'data_keys') k;
        END IF;
        IF cid IS NOT NULL THEN
            INSERT INTO commands (command_id, first_position, last_position, streams, recorded_at, fingerprint)
            VALUES (cid, head + 1, head + written, streams, recorded, req->>'fingerprint');
        END IF;
        results := array_append(results, jsonb_build_object('ok', jsonb_build_object(
            'first_position', head + 1, 'last_position', head + written, 'streams', streams, 'duplicate', false)));
        head := head + written;
    END LOOP;

    -- No NOTIFY here (0008): the server notifies after the commit.
    RETURN to_jsonb(results);
END $$;
