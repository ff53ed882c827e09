// JDBC (Debian libpostgresql-jdbc-java, pgjdbc 42.x) against the gateway.
//
// pgjdbc uses the extended protocol for every statement (Parse/Bind/Describe/
// Execute, several statements pipelined before one Sync in a batch), names
// server-side statements after prepareThreshold executions, switches to
// binary results for prepared statements, fetches with Execute row limits
// when autocommit is off and fetchSize is set, and reads pg_catalog for
// DatabaseMetaData. Tables: jdbc_items (distributed by id), jdbc_ser
// (distributed by k, serial id: the known sequence gap), jdbc_copy
// (distributed by id).
//
// Connection from SG_CLIENT_HOST/PORT/DB/USER; prints `ok   group: case` /
// `FAIL group: case: why` lines and `jdbc: N passed, M failed`.

import java.math.BigDecimal;
import java.sql.*;
import java.util.*;

public class JdbcSuite {
    interface Case { void run() throws Exception; }

    static int passed = 0;
    static List<String> failures = new ArrayList<>();
    static Connection conn;
    static String url;

    static String env(String k, String d) {
        String v = System.getenv(k);
        return v == null || v.isEmpty() ? d : v;
    }

    static void run(String group, String name, Case c) {
        try {
            c.run();
            passed++;
            System.out.println("ok   " + group + ": " + name);
        } catch (Throwable e) {
            String msg = e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).replaceAll("\\s+", " ");
            if (e instanceof SQLException && ((SQLException) e).getSQLState() != null)
                msg = msg + " [SQLSTATE " + ((SQLException) e).getSQLState() + "]";
            if (msg.length() > 400) msg = msg.substring(0, 400) + "...";
            failures.add(group + ": " + name + ": " + msg);
            System.out.println("FAIL " + group + ": " + name + ": " + msg);
        }
        System.out.flush();
    }

    static void eq(Object got, Object want, String what) {
        if (!Objects.equals(got, want))
            throw new AssertionError(what + ": expected " + want + ", got " + got);
    }

    static Connection connect(Properties extra) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", env("SG_CLIENT_USER", "postgres"));
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", env("SG_CLIENT_TIMEOUT", "20"));
        p.setProperty("ApplicationName", "clients-jdbc");
        if (extra != null) p.putAll(extra);
        return DriverManager.getConnection(url, p);
    }

    static void exec(String sql) throws SQLException {
        try (Statement st = conn.createStatement()) { st.execute(sql); }
    }

    /** Runs sql (pgjdbc: extended protocol); when that fails, distributes the
     *  table anyway through a preferQueryMode=simple connection so that later
     *  cases use a distributed table, and rethrows the first error. */
    static void distribute(String sql) throws Exception {
        try {
            exec(sql);
        } catch (SQLException e) {
            Properties p = new Properties();
            p.setProperty("preferQueryMode", "simple");
            try (Connection c = connect(p); Statement st = c.createStatement()) {
                st.execute(sql);
            }
            throw e;
        }
    }

    static List<Long> ids(Connection c, String table, String where) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM " + table + " WHERE " + where)) {
            while (rs.next()) out.add(rs.getLong(1));
        }
        Collections.sort(out);
        return out;
    }

    static List<Long> range(long a, long b) {
        List<Long> out = new ArrayList<>();
        for (long i = a; i < b; i++) out.add(i);
        return out;
    }

    static void sqlstate(Case c, String want) throws Exception {
        try {
            c.run();
        } catch (SQLException e) {
            if (!want.equals(e.getSQLState()))
                throw new AssertionError("expected SQLSTATE " + want + ", got " + e.getSQLState() + ": " + e.getMessage());
            return;
        }
        throw new AssertionError("expected SQLSTATE " + want + ", statement succeeded");
    }

    public static void main(String[] args) throws Exception {
        url = "jdbc:postgresql://" + env("SG_CLIENT_HOST", "127.0.0.1") + ":" + env("SG_CLIENT_PORT", "6432")
            + "/" + env("SG_CLIENT_DB", "postgres");
        try {
            conn = connect(null);
        } catch (SQLException e) {
            System.out.println("FAIL basic: connect: " + e.getMessage());
            System.out.println("jdbc: 0 passed, 1 failed");
            System.exit(1);
        }

        run("basic", "setup: CREATE TABLE + create_distributed_table through the extended protocol", () -> {
            for (String t : new String[] {"jdbc_items", "jdbc_ser", "jdbc_copy"})
                exec("DROP TABLE IF EXISTS " + t + " CASCADE");
            exec("CREATE TABLE jdbc_items (id bigint PRIMARY KEY, name text, qty int, price numeric(10,2), "
                 + "at timestamptz, u uuid, blob bytea, ok boolean)");
            exec("CREATE TABLE jdbc_copy (id int, name text)");
            distribute("SELECT create_distributed_table('jdbc_items', 'id')");
            distribute("SELECT create_distributed_table('jdbc_copy', 'id')");
        });

        run("basic", "Statement.executeQuery without parameters", () -> {
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 1 AS one, 'x'::text AS s")) {
                rs.next();
                eq(rs.getInt("one"), 1, "one");
                eq(rs.getString("s"), "x", "s");
            }
        });

        UUID u = UUID.fromString("11111111-2222-3333-4444-555555555555");
        Timestamp ts = Timestamp.valueOf("2024-06-01 12:34:56.789");
        run("prepared", "PreparedStatement INSERT with typed parameters, SELECT by key", () -> {
            try (PreparedStatement ps = conn.prepareStatement(
                     "INSERT INTO jdbc_items (id, name, qty, price, at, u, blob, ok) VALUES (?,?,?,?,?,?,?,?)")) {
                ps.setLong(1, 1);
                ps.setString(2, "uno 'ñ'");
                ps.setInt(3, 5);
                ps.setBigDecimal(4, new BigDecimal("12.34"));
                ps.setTimestamp(5, ts);
                ps.setObject(6, u);
                ps.setBytes(7, new byte[] {0, 1, (byte) 0xff});
                ps.setBoolean(8, true);
                eq(ps.executeUpdate(), 1, "update count");
            }
            try (PreparedStatement ps = conn.prepareStatement(
                     "SELECT name, qty, price, at, u, blob, ok FROM jdbc_items WHERE id = ?")) {
                ps.setLong(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    eq(rs.next(), true, "row");
                    eq(rs.getString(1), "uno 'ñ'", "name");
                    eq(rs.getInt(2), 5, "qty");
                    eq(rs.getBigDecimal(3), new BigDecimal("12.34"), "price");
                    eq(rs.getTimestamp(4), ts, "at");
                    eq(rs.getObject(5), u, "uuid");
                    eq(Arrays.toString(rs.getBytes(6)), "[0, 1, -1]", "bytea");
                    eq(rs.getBoolean(7), true, "ok");
                }
            }
        });

        run("prepared", "PreparedStatement reused 10 times (server-side prepare, binary results)", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT qty, price FROM jdbc_items WHERE id = ?")) {
                for (int i = 0; i < 10; i++) {
                    ps.setLong(1, 1);
                    try (ResultSet rs = ps.executeQuery()) {
                        eq(rs.next(), true, "row " + i);
                        eq(rs.getInt(1), 5, "qty " + i);
                    }
                }
            }
        });

        run("extended", "ParameterMetaData and ResultSetMetaData (Describe statement)", () -> {
            try (PreparedStatement ps = conn.prepareStatement("SELECT name, price FROM jdbc_items WHERE id = ? AND qty > ?")) {
                ParameterMetaData pm = ps.getParameterMetaData();
                eq(pm.getParameterCount(), 2, "parameters");
                eq(pm.getParameterTypeName(1), "int8", "type of $1");
                eq(pm.getParameterTypeName(2), "int4", "type of $2");
                ResultSetMetaData md = ps.getMetaData();
                eq(md.getColumnCount(), 2, "columns");
                eq(md.getColumnTypeName(2), "numeric", "price type");
            }
        });

        run("extended", "executeBatch of 500 INSERTs (pipelined Parse/Bind/Execute, one Sync)", () -> {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO jdbc_items (id, name, qty) VALUES (?, ?, ?)")) {
                for (long i = 2; i < 502; i++) {
                    ps.setLong(1, i);
                    ps.setString(2, "n" + i);
                    ps.setInt(3, (int) (i % 4));
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                eq(counts.length, 500, "batch size");
            }
            eq(ids(conn, "jdbc_items", "true"), range(1, 502), "ids");
        });

        run("extended", "executeBatch with reWriteBatchedInserts=true (multi-row INSERT)", () -> {
            Properties p = new Properties();
            p.setProperty("reWriteBatchedInserts", "true");
            try (Connection c = connect(p);
                 PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_items (id, name) VALUES (?, ?)")) {
                for (long i = 1000; i < 1100; i++) {
                    ps.setLong(1, i);
                    ps.setString(2, "rw");
                    ps.addBatch();
                }
                ps.executeBatch();
                eq(ids(c, "jdbc_items", "name = 'rw'"), range(1000, 1100), "ids");
            }
        });

        run("extended", "batch with a failing row: BatchUpdateException, 23505", () -> {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO jdbc_items (id, name) VALUES (?, ?)")) {
                ps.setLong(1, 2000); ps.setString(2, "a"); ps.addBatch();
                ps.setLong(1, 1); ps.setString(2, "dup"); ps.addBatch();
                ps.executeBatch();
                throw new AssertionError("no error");
            } catch (BatchUpdateException e) {
                eq(e.getSQLState(), "23505", "SQLSTATE");
            }
            eq(ids(conn, "jdbc_items", "id = 1").size(), 1, "usable after");
        });

        run("cursor", "setAutoCommit(false) + setFetchSize(50): portal fetched in pages", () -> {
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM jdbc_items WHERE id < ?")) {
                ps.setFetchSize(50);
                ps.setLong(1, 502);
                List<Long> got = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) got.add(rs.getLong(1));
                }
                Collections.sort(got);
                eq(got, range(1, 502), "ids");
            } finally {
                conn.rollback();
                conn.setAutoCommit(true);
            }
        });

        run("cursor", "fetchSize cursor with ORDER BY across shards", () -> {
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(25);
                List<Long> got = new ArrayList<>();
                try (ResultSet rs = st.executeQuery("SELECT id FROM jdbc_items WHERE id < 200 ORDER BY id")) {
                    while (rs.next()) got.add(rs.getLong(1));
                }
                eq(got, range(1, 200), "ids in order");
            } finally {
                conn.rollback();
                conn.setAutoCommit(true);
            }
        });

        run("txn", "commit and rollback (autocommit off)", () -> {
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO jdbc_items (id, name) VALUES (?, 'txn')")) {
                ps.setLong(1, 3000); ps.executeUpdate();
                conn.rollback();
                ps.setLong(1, 3001); ps.executeUpdate();
                conn.commit();
            } finally {
                conn.setAutoCommit(true);
            }
            eq(ids(conn, "jdbc_items", "name = 'txn'"), Arrays.asList(3001L), "ids");
        });

        run("txn", "Savepoint: rollback to savepoint after an error", () -> {
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.executeUpdate("INSERT INTO jdbc_items (id, name) VALUES (3100, 'sp')");
                Savepoint sp = conn.setSavepoint();
                sqlstate(() -> st.executeUpdate("INSERT INTO jdbc_items (id, name) VALUES (3100, 'dup')"), "23505");
                conn.rollback(sp);
                st.executeUpdate("INSERT INTO jdbc_items (id, name) VALUES (3101, 'sp')");
                conn.commit();
            } finally {
                conn.setAutoCommit(true);
            }
            eq(ids(conn, "jdbc_items", "name = 'sp'"), Arrays.asList(3100L, 3101L), "ids");
        });

        run("txn", "setTransactionIsolation(SERIALIZABLE) and setReadOnly", () -> {
            conn.setAutoCommit(false);
            conn.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SHOW transaction_isolation")) {
                rs.next();
                eq(rs.getString(1), "serializable", "isolation");
            } finally {
                conn.rollback();
                conn.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
                conn.setAutoCommit(true);
            }
        });

        run("catalog", "DatabaseMetaData.getTables / getColumns / getPrimaryKeys / getIndexInfo", () -> {
            DatabaseMetaData md = conn.getMetaData();
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = md.getTables(null, "public", "jdbc_%", new String[] {"TABLE"})) {
                while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
            }
            Collections.sort(tables);
            eq(tables, Arrays.asList("jdbc_copy", "jdbc_items"), "getTables");
            List<String> cols = new ArrayList<>();
            try (ResultSet rs = md.getColumns(null, "public", "jdbc_items", "%")) {
                while (rs.next()) cols.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME"));
            }
            eq(cols, Arrays.asList("id:int8", "name:text", "qty:int4", "price:numeric", "at:timestamptz",
                                   "u:uuid", "blob:bytea", "ok:bool"), "getColumns");
            try (ResultSet rs = md.getPrimaryKeys(null, "public", "jdbc_items")) {
                eq(rs.next(), true, "pk row");
                eq(rs.getString("COLUMN_NAME"), "id", "pk column");
            }
            try (ResultSet rs = md.getIndexInfo(null, "public", "jdbc_items", true, false)) {
                eq(rs.next(), true, "index row");
                eq(rs.getString("INDEX_NAME"), "jdbc_items_pkey", "index");
            }
        });

        run("catalog", "getSchemas does not list the gateway's shard schemas", () -> {
            List<String> shard = new ArrayList<>();
            try (ResultSet rs = conn.getMetaData().getSchemas()) {
                while (rs.next()) if (rs.getString(1).startsWith("sg_")) shard.add(rs.getString(1));
            }
            eq(shard.size(), 0, "shard schemas " + shard);
        });

        run("session", "ParameterStatus: TimeZone and application_name follow SET", () -> {
            org.postgresql.PGConnection pg = conn.unwrap(org.postgresql.PGConnection.class);
            exec("SET TimeZone = 'Europe/Paris'");
            eq(pg.getParameterStatus("TimeZone"), "Europe/Paris", "TimeZone");
            eq(pg.getParameterStatus("application_name"), "clients-jdbc", "application_name (startup)");
            exec("RESET TimeZone");
        });

        run("copy", "CopyManager copyIn (text) into a distributed table, copyOut", () -> {
            org.postgresql.copy.CopyManager cm = conn.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
            StringBuilder sb = new StringBuilder();
            for (int i = 1; i <= 300; i++) sb.append(i).append("\tc").append(i).append('\n');
            long n = cm.copyIn("COPY jdbc_copy (id, name) FROM STDIN", new java.io.StringReader(sb.toString()));
            eq(n, 300L, "copyIn count");
            java.io.StringWriter w = new java.io.StringWriter();
            cm.copyOut("COPY (SELECT id, name FROM jdbc_copy WHERE id = 7) TO STDOUT", w);
            eq(w.toString(), "7\tc7\n", "copyOut");
        });

        run("sequence", "serial on a distributed table: getGeneratedKeys unique across nodes", () -> {
            exec("CREATE TABLE jdbc_ser (k int, id serial, v text)");
            distribute("SELECT create_distributed_table('jdbc_ser', 'k')");
            Set<Long> keys = new TreeSet<>();
            List<Long> all = new ArrayList<>();
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO jdbc_ser (k, v) VALUES (?, 'x')",
                                                              new String[] {"id"})) {
                for (int k = 1; k <= 30; k++) {
                    ps.setInt(1, k);
                    ps.executeUpdate();
                    try (ResultSet rs = ps.getGeneratedKeys()) {
                        rs.next();
                        keys.add(rs.getLong(1));
                        all.add(rs.getLong(1));
                    }
                }
            }
            eq(keys.size(), 30, "distinct generated keys among " + all);
        });

        run("errors", "SQLException SQLSTATE for 42P01, 22012, 42601; connection usable", () -> {
            sqlstate(() -> exec("SELECT * FROM jdbc_nope"), "42P01");
            sqlstate(() -> {
                try (PreparedStatement ps = conn.prepareStatement("SELECT 1 / ?")) {
                    ps.setInt(1, 0);
                    ps.executeQuery();
                }
            }, "22012");
            sqlstate(() -> exec("SELEC 1"), "42601");
            eq(ids(conn, "jdbc_items", "id = 1").size(), 1, "usable");
        });

        try {
            for (String t : new String[] {"jdbc_items", "jdbc_ser", "jdbc_copy"})
                exec("DROP TABLE IF EXISTS " + t + " CASCADE");
            conn.close();
        } catch (SQLException e) {
            // cleanup only
        }
        if (!failures.isEmpty()) {
            System.out.println("jdbc failures:");
            for (String f : failures) System.out.println("  - " + f);
        }
        System.out.println("jdbc: " + passed + " passed, " + failures.size() + " failed");
        System.exit(failures.isEmpty() ? 0 : 1);
    }
}
