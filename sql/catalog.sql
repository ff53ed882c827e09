-- shardgate catalog schema, created on every storage node by the cluster
-- set-up (scripts/cluster). The metadata node (the first node) holds the
-- authoritative rows; every node has the tables so any node can hold
-- commit-log records (two-phase commit decisions).
-- Idempotent: safe to run again on an existing node.

CREATE SCHEMA IF NOT EXISTS shardgate;

-- pg_namespace as clients see it through the gateway: a SELECT reading
-- pg_catalog.pg_namespace reads this view instead (planner.c), so psql's \dn,
-- JDBC getSchemas and ORM reflection do not list the shard schemas.
CREATE OR REPLACE VIEW shardgate.pg_namespace AS
    SELECT * FROM pg_catalog.pg_namespace WHERE nspname !~ '^sg_g[0-9]+_[0-9]+$';
-- The same for the other catalog views that list schemas or tables by schema
-- (information_schema.schemata and .tables, pg_catalog.pg_tables): a client
-- listing every table does not see each shard table.
CREATE OR REPLACE VIEW shardgate.pg_tables AS
    SELECT * FROM pg_catalog.pg_tables WHERE schemaname !~ '^sg_g[0-9]+_[0-9]+$';
CREATE OR REPLACE VIEW shardgate.info_schemata AS
    SELECT * FROM information_schema.schemata WHERE schema_name !~ '^sg_g[0-9]+_[0-9]+$';
CREATE OR REPLACE VIEW shardgate.info_tables AS
    SELECT * FROM information_schema.tables WHERE table_schema !~ '^sg_g[0-9]+_[0-9]+$';
GRANT USAGE ON SCHEMA shardgate TO PUBLIC;
GRANT SELECT ON shardgate.pg_namespace, shardgate.pg_tables, shardgate.info_schemata,
    shardgate.info_tables TO PUBLIC;

-- Catalog version: bumped by every catalog change; gateways reload on change.
CREATE TABLE IF NOT EXISTS shardgate.version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL
);
INSERT INTO shardgate.version VALUES (true, 1) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS shardgate.nodes (
    node_id   integer PRIMARY KEY,
    host      text    NOT NULL,
    port      integer NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    UNIQUE (host, port)
);

-- Tables of one co-location group share shard count, distribution type and
-- placement: equal keys live in the same shard on the same node.
CREATE TABLE IF NOT EXISTS shardgate.colocation_groups (
    group_id    integer PRIMARY KEY,
    shard_count integer NOT NULL CHECK (shard_count BETWEEN 1 AND 4096),
    dist_type   oid     NOT NULL
);

CREATE TABLE IF NOT EXISTS shardgate.tables (
    schema_name text NOT NULL,
    table_name  text NOT NULL,
    kind        "char" NOT NULL CHECK (kind IN ('d', 'r')), -- distributed, reference
    dist_column text,
    group_id    integer REFERENCES shardgate.colocation_groups,
    PRIMARY KEY (schema_name, table_name),
    CHECK ((kind = 'd') = (dist_column IS NOT NULL AND group_id IS NOT NULL))
);

-- Shard i of group g is the schema sg_g<g>_<i> on its node(s); it holds the
-- rows whose key hashes to i (PostgreSQL hash partitioning, modulus shard_count).
CREATE TABLE IF NOT EXISTS shardgate.shards (
    group_id    integer NOT NULL REFERENCES shardgate.colocation_groups ON DELETE CASCADE,
    shard_index integer NOT NULL,
    schema_name text    NOT NULL UNIQUE,
    PRIMARY KEY (group_id, shard_index)
);

CREATE TABLE IF NOT EXISTS shardgate.placements (
    group_id    integer NOT NULL,
    shard_index integer NOT NULL,
    node_id     integer NOT NULL REFERENCES shardgate.nodes,
    PRIMARY KEY (group_id, shard_index, node_id),
    FOREIGN KEY (group_id, shard_index) REFERENCES shardgate.shards ON DELETE CASCADE
);

-- Two-phase commit decisions: a row with outcome 'c' inserted by the deciding
-- participant inside its own transaction; recovery claims undecided ids with 'a'.
CREATE TABLE IF NOT EXISTS shardgate.commit_log (
    gid        text PRIMARY KEY,
    outcome    "char" NOT NULL CHECK (outcome IN ('c', 'a')),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Helper functions, each callable as one statement with $n parameters.

-- bump_version: increments the catalog version and notifies listening
-- gateways on channel 'shardgate_catalog' (payload: the new version) at commit.
CREATE OR REPLACE FUNCTION shardgate.bump_version() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    UPDATE shardgate.version SET version = version + 1 RETURNING version INTO v;
    PERFORM pg_notify('shardgate_catalog', v::text);
    RETURN v;
END
$$;

-- forget_table: deletes the catalog rows of a distributed or reference table
-- (after DROP TABLE), drops its co-location group (shards and placements
-- cascade) when no other table uses it, and bumps the version. Returns false
-- (and changes nothing) if the table was not catalogued. The shard tables
-- themselves are dropped by the caller's DDL fan-out.
CREATE OR REPLACE FUNCTION shardgate.forget_table(p_schema text, p_name text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    g integer;
BEGIN
    DELETE FROM shardgate.tables
     WHERE schema_name = p_schema AND table_name = p_name
    RETURNING group_id INTO g;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF g IS NOT NULL AND NOT EXISTS (SELECT 1 FROM shardgate.tables WHERE group_id = g) THEN
        DELETE FROM shardgate.colocation_groups WHERE group_id = g;
    END IF;
    PERFORM shardgate.bump_version();
    RETURN true;
END
$$;

-- Sequences of distributed tables (serial, bigserial, identity) give values
-- unique over the cluster: on the node with index k (1..stride-1) the sequence
-- steps by `stride` from floor + k, so no two nodes ever hand out the same value.
CREATE OR REPLACE FUNCTION shardgate.sequence_last(seq regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE cur bigint;
BEGIN
    EXECUTE format('SELECT last_value FROM %s', seq) INTO cur;
    RETURN cur;
END $$;

CREATE OR REPLACE FUNCTION shardgate.stripe_sequence(seq regclass, node_index integer,
                                                     stride integer, floor bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER SEQUENCE %s INCREMENT BY %s', seq, stride);
    PERFORM setval(seq, floor + node_index, false);
END $$;

-- A shard table made with LIKE ... INCLUDING ALL gets identity columns with
-- sequences of its own; point them at the logical table's (striped) sequence
-- instead, so identity values stay unique over every shard of every node.
CREATE OR REPLACE FUNCTION shardgate.share_identity(shard regclass, col name, seq regclass)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP IDENTITY IF EXISTS', shard, col);
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT nextval(%L::regclass)',
                   shard, col, seq::text);
END $$;
