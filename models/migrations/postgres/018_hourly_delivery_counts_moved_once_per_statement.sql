-- hourly delivery counts moved once per statement
-- The dispatcher settles a round's deliveries in one UPDATE; the row
-- trigger of 005 then updated the hour's counter once per delivery (a
-- plpgsql call and an UPDATE of one hot row each: a third of the settle's
-- time). Fired once per statement with the changed rows as transition
-- tables, it adds each hour's sums in one UPDATE. PostgreSQL takes no
-- column list on a trigger with transition tables, so it fires on every
-- UPDATE of deliveries and finds the rows whose status changed itself;
-- ids never change, so old and new rows pair by id. A change of mode or
-- created_at is still delivery_hourly_move's, row by row, as before.
DROP TRIGGER delivery_hourly_status ON deliveries;
CREATE OR REPLACE FUNCTION delivery_hourly_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE delivery_hourly SET succeeded = delivery_hourly.succeeded + c.succeeded,
		failed = delivery_hourly.failed + c.failed, pending = delivery_hourly.pending + c.pending
	FROM (SELECT n.mode, n.created_at - n.created_at % 3600000 AS hour,
			SUM((n.status = 'SUCCEEDED')::int - (o.status = 'SUCCEEDED')::int) AS succeeded,
			SUM((n.status = 'FAILED')::int - (o.status = 'FAILED')::int) AS failed,
			SUM((n.status = 'PENDING')::int - (o.status = 'PENDING')::int) AS pending
		FROM delivery_hourly_old o JOIN delivery_hourly_new n ON n.id = o.id
		WHERE o.status IS DISTINCT FROM n.status AND o.mode IS NOT DISTINCT FROM n.mode
			AND o.created_at IS NOT DISTINCT FROM n.created_at
		GROUP BY 1, 2) AS c
	WHERE delivery_hourly.mode = c.mode AND delivery_hourly.hour = c.hour;
	RETURN NULL;
END
$$;
CREATE TRIGGER delivery_hourly_status AFTER UPDATE ON deliveries
	REFERENCING OLD TABLE AS delivery_hourly_old NEW TABLE AS delivery_hourly_new
	FOR EACH STATEMENT EXECUTE FUNCTION delivery_hourly_status();
