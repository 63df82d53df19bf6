-- Appends that touch different streams commit in parallel; before, one advisory lock held
-- through every commit made them queue one after another.
--
-- Three rules replace that lock:
-- 1. A batch locks every stream it writes or expects, and every command id it carries, with
--    transaction-scoped advisory locks in one global order (no deadlocks). Expectations are
--    checked and versions numbered under those locks, so they still decide atomically; batches on
--    other streams do not wait.
-- 2. Positions come from a sequence. The transaction id (`tx`) and the batch's positions are taken
--    together under a lock held only for that moment, so among appends a higher transaction id
--    always means higher positions.
-- 3. Readers hand out an event only if its transaction is older than every transaction still
--    running (`tx < pg_snapshot_xmin(pg_current_snapshot())`) and stop at the first that is not.
--    By rule 2 no running append can hold a position below one handed out, so a transaction that
--    commits late with a lower position is waited for, never skipped.
--
-- The function no longer sends the NOTIFY that wakes other servers: PostgreSQL serialises the
-- commits of notifying transactions. The appending server sends it right after the commit.
--
-- A batch reserves a position for each event it carries; events of requests that conflict or
-- repeat an earlier command leave their positions unused (positions rise, with gaps).
ALTER TABLE events ADD COLUMN tx xid8 NOT NULL DEFAULT '0';

CREATE SEQUENCE events_position AS BIGINT;
SELECT setval('events_position', COALESCE(MAX(position), 0) + 1, false) FROM events;

CREATE OR REPLACE FUNCTION schalter_append_batch(requests jsonb, recorded timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    req        jsonb;
    existing   record;
    results    jsonb[] := '{}';
    head       bigint;
    wanted     bigint;
    me         xid8;
    conflict   jsonb;
    streams    jsonb;
    written    int;
BEGIN
    -- Rule 1.
    PERFORM pg_advisory_xact_lock(k.key)
       FROM (SELECT DISTINCT hashtextextended(name, 91548440153172) AS key
               FROM (SELECT e->>'stream' AS name
                       FROM jsonb_array_elements(requests) r, jsonb_array_elements(r->'events') e
                     UNION ALL
                     SELECT x->>'stream'
                       FROM jsonb_array_elements(requests) r, jsonb_array_elements(r->'expectations') x
                      WHERE x->>'kind' <> 'any'
                     UNION ALL
                     SELECT 'command ' || (r->>'command_id')
                       FROM jsonb_array_elements(requests) r
                      WHERE r->>'command_id' IS NOT NULL) names
              ORDER BY 1) k;

    -- Rule 2. The exception block only makes sure the session lock never outlives an error.
    SELECT COUNT(*) INTO wanted FROM jsonb_array_elements(requests) r, jsonb_array_elements(r->'events');
    PERFORM pg_advisory_lock(91548440153173);
    BEGIN
        me := pg_current_xact_id();
        head := nextval('events_position') - 1;
        IF wanted > 1 THEN
            PERFORM setval('events_position', head + wanted);
        END IF;
    EXCEPTION WHEN OTHERS THEN
        PERFORM pg_advisory_unlock(91548440153173);
        RAISE;
    END;
    PERFORM pg_advisory_unlock(91548440153173);

    -- Each request decided on its own, as in 0007.
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

    -- No NOTIFY here: a notifying transaction holds a database-wide lock through its commit,
    -- which would queue the commits again. The server notifies after the commit (PgStore).
    RETURN to_jsonb(results);
END $$;
