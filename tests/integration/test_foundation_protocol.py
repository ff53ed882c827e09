"""Foundation: protocol front end over raw sockets.

SSLRequest/GSSENCRequest answered 'N', ParameterStatus and BackendKeyData
like PostgreSQL's, malformed or oversized packets answered with an
ErrorResponse (08P01) and a closed connection -- while the gateway keeps
serving everybody else -- Terminate, and CancelRequest (57014).
"""

import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import (eq, test, expect_sqlstate, message, startup_packet, parse_fields,  # noqa: E402
                     summarize, Failures, SSL_CODE, GSSENC_CODE, CANCEL_CODE)


def assert_error_and_close(w, sqlstates, what, timeout=10):
    """Everything the server sends until it closes must include an
    ErrorResponse with one of sqlstates; the connection must then close."""
    if isinstance(sqlstates, str):
        sqlstates = (sqlstates,)
    msgs = w.read_until_eof(timeout=timeout)
    errs = [parse_fields(pl) for t, pl in msgs if t == "E"]
    if not errs:
        raise AssertionError("%s: connection closed without an ErrorResponse; got %r" % (
            what, summarize(msgs)))
    if errs[-1].get("C") not in sqlstates:
        raise AssertionError("%s: expected SQLSTATE %s, got %r" % (
            what, "/".join(sqlstates), errs[-1]))
    return errs[-1]


def read_all_raw(w, timeout=10):
    """Raw bytes until the server closes; AssertionError if still open after timeout."""
    w.sock.settimeout(timeout)
    data = w.buf
    w.buf = b""
    try:
        while True:
            try:
                chunk = w.sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        raise AssertionError("connection still open after %.0fs; got %r" % (timeout, data[:200]))


class Serving:
    """Checks, after each abusive case, that the gateway process lives and a
    held connection and a new one both work. A crash is recorded as a case
    failure and the gateway restarted, so the remaining cases still run."""

    def __init__(self, c, f):
        self.c, self.f = c, f
        self.held = c.gw()

    def check(self, what):
        c = self.c
        try:
            if c.gateway_alive():
                still_serving(c, self.held, what)
                return
            err = "gateway process is gone"
        except AssertionError as e:
            err = str(e)
        # A crashing process may take a moment to go (a sanitizer report is
        # written first): wait for it before deciding what happened.
        end = time.monotonic() + 5
        while c.gateway_alive() and time.monotonic() < end:
            time.sleep(0.1)
        if c.gateway_alive():
            self.f.items.append(err)
            harness.log("  case failed: " + err)
            return
        self.f.items.append("gateway process died after: %s" % what)
        harness.log("  case failed: gateway process died after: %s" % what)
        c.restart_gateway()
        self.close()
        self.held = c.gw()

    def close(self):
        try:
            self.held.close()
        except psycopg2.Error:
            pass


def still_serving(c, held, what):
    """The long-lived connection held across the abuse still works, and so does a new one."""
    try:
        eq(c.scalar(held, "SELECT 1"), 1, "held connection after " + what)
        n = c.gw()
        eq(c.scalar(n, "SELECT 2"), 2, "new connection after " + what)
        n.close()
    except psycopg2.Error as e:
        raise AssertionError("gateway stopped serving after %s: %s" % (what, e))


@test
def ssl_and_gssenc_requests_answered_n(c):
    for code, name in ((SSL_CODE, "SSLRequest"), (GSSENC_CODE, "GSSENCRequest")):
        with c.wire() as w:
            w.send(struct.pack("!II", 8, code))
            eq(w.recv_exact(1), b"N", "answer to " + name)
            eq(w.buf, b"", "bytes after the 'N' answer to " + name)
            msgs = w.login()
            eq(w.query("SELECT 7")[-1][0], "Z", "query after %s + startup" % name)
            eq(harness.data_rows(w.query("SELECT 7")), [["7"]], "SELECT 7 after " + name)
            assert msgs
    # SSLRequest then GSSENCRequest on one socket (libpq may do that), then startup.
    with c.wire() as w:
        w.send(struct.pack("!II", 8, GSSENC_CODE))
        eq(w.recv_exact(1), b"N", "answer to GSSENCRequest")
        w.send(struct.pack("!II", 8, SSL_CODE))
        eq(w.recv_exact(1), b"N", "answer to SSLRequest after GSSENCRequest")
        w.login()
    # psycopg2 with sslmode=prefer (the libpq default) and sslmode=disable.
    for mode in ("prefer", "disable"):
        g = c.gw(sslmode=mode)
        eq(c.scalar(g, "SELECT 1"), 1, "psycopg2 with sslmode=" + mode)
        g.close()
    g = None
    try:
        g = c.gw(sslmode="require")
    except psycopg2.OperationalError:
        pass  # no TLS yet: refused by the client after the 'N', as libpq does
    finally:
        if g is not None:
            g.close()


@test
def parameter_status_and_backend_key(c):
    with c.wire() as w, c.wire(c.node_port(1)) as nd:
        msgs = w.login(application_name="itest_app")
        nd.login(application_name="itest_app")
        p = w.params
        for name in ("server_version", "server_encoding", "client_encoding", "DateStyle",
                     "TimeZone", "integer_datetimes", "standard_conforming_strings",
                     "application_name", "is_superuser", "session_authorization",
                     "IntervalStyle"):
            assert name in p, "ParameterStatus %s missing; got %r" % (name, p)
        eq(p["server_encoding"], "UTF8", "server_encoding")
        eq(p["integer_datetimes"], "on", "integer_datetimes")
        eq(p["standard_conforming_strings"], "on", "standard_conforming_strings")
        eq(p["application_name"], "itest_app", "application_name echoed")
        eq(p["session_authorization"], "postgres", "session_authorization")
        assert p["server_version"][:1].isdigit(), "server_version %r" % p["server_version"]
        for name in ("client_encoding", "DateStyle", "IntervalStyle", "is_superuser",
                     "server_encoding", "TimeZone"):
            eq(p[name], nd.params[name], "ParameterStatus %s (gateway vs node 1)" % name)
        keys = [pl for t, pl in msgs if t == "K"]
        eq(len(keys), 1, "BackendKeyData messages")
        eq(len(keys[0]), 8, "BackendKeyData body length")
        order = harness.types(msgs)
        assert order.startswith("R") and order.endswith("Z"), order
        assert order.index("K") > order.rindex("R"), "BackendKeyData before authentication: " + order

    # Startup options a client commonly sends are honoured.
    with c.wire() as w:
        w.login(client_encoding="UTF8", DateStyle="ISO, MDY", application_name="")
        eq(w.params.get("client_encoding"), "UTF8", "client_encoding from startup")
        eq(w.params.get("application_name"), "", "empty application_name")

    # Two sessions get different keys.
    with c.wire() as a, c.wire() as b:
        a.login()
        b.login()
        assert a.backend_key != b.backend_key, "two sessions share BackendKeyData %r" % (
            a.backend_key,)

    g = c.gw(application_name="itest_psyco")
    try:
        eq(g.get_parameter_status("application_name"), "itest_psyco", "libpq's parameter")
    finally:
        g.close()


@test
def session_settings_are_the_clients(c):
    """What the client set at start-up (or with SET) is what the session
    shows, as on PostgreSQL: SHOW application_name, current_setting."""
    f = Failures()
    g = c.gw(application_name="itest_psyco")
    try:
        f.check("SHOW application_name after start-up", lambda: eq(
            c.scalar(g, "SHOW application_name"), "itest_psyco", "SHOW application_name"))
        c.execute(g, "SET application_name = 'changed'")
        f.check("ParameterStatus after SET application_name", lambda: eq(
            g.get_parameter_status("application_name"), "changed", "libpq's parameter"))
        f.check("SHOW application_name after SET", lambda: eq(
            c.scalar(g, "SHOW application_name"), "changed", "SHOW application_name after SET"))
    finally:
        g.close()
    f.done()


@test
def bad_startup_packets_answered_and_closed(c):
    f = Failures()
    srv = Serving(c, f)
    try:
        cases = [
            ("length 1 GB", struct.pack("!II", 1 << 30, 196608)),
            ("length 0x7fffffff", struct.pack("!II", 0x7FFFFFFF, 196608)),
            ("length 4 (< 8)", struct.pack("!II", 4, 196608)),
            ("length 0", struct.pack("!II", 0, 196608)),
            ("length 20000 (over the startup limit)", struct.pack("!II", 20000, 196608)),
            ("HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ]
        def case(data, codes, what):
            with c.wire() as w:
                w.send(data)
                assert_error_and_close(w, codes, what)

        for what, data in cases:
            f.check("startup packet " + what, case, data, "08P01", "startup packet " + what)
            srv.check("startup packet " + what)

        # Protocol 2.0: PostgreSQL answers (in the 2.0 format: 'E' and a
        # NUL-terminated text) "unsupported frontend protocol 2.0: server
        # supports 3.0 to 3.0" (0A000). Accept that, or a v3 ErrorResponse.
        def proto2():
            with c.wire() as w:
                w.send(startup_packet(version=2 << 16))
                data = read_all_raw(w)
            assert data[:1] == b"E", "no error for protocol 2.0: %r" % data[:200]
            if b"unsupported frontend protocol" in data and struct.unpack(
                    "!I", data[1:5])[0] > len(data):
                return  # 2.0-format error text, as PostgreSQL sends
            w2 = harness.Wire.__new__(harness.Wire)
            w2.buf = data
            t, pl = w2.read_msg()
            eq(parse_fields(pl).get("C") in ("0A000", "08P01"), True,
               "SQLSTATE for protocol 2.0: %r" % parse_fields(pl))
        f.check("protocol 2.0", proto2)
        f.check("protocol 9.1", case, startup_packet(version=(9 << 16) | 1), ("0A000", "08P01"),
                "protocol 9.1")
        # Startup without a user name: PostgreSQL says 28000.
        f.check("startup without user", case, startup_packet({"database": "postgres"}),
                "28000", "startup without user")
        body = struct.pack("!I", 196608) + b"user\0postgres"
        f.check("unterminated parameter list", case, struct.pack("!I", len(body) + 4) + body,
                "08P01", "startup with an unterminated parameter")

        # CancelRequest with keys nobody has: closed quietly, nothing cancelled.
        def bogus_cancel():
            with c.wire() as w:
                w.send(struct.pack("!IIII", 16, CANCEL_CODE, 12345, 67890))
                eq(read_all_raw(w), b"", "reply to a bogus CancelRequest")
        f.check("bogus CancelRequest", bogus_cancel)
        # Client vanishing mid-startup, and right after connecting.
        for data in (b"\x00\x00\x00\x50\x00\x03", b""):
            s = socket.create_connection(("127.0.0.1", c.port), timeout=5)
            if data:
                s.sendall(data)
            s.close()
        srv.check("bad startup packets")
        f.done()
    finally:
        srv.close()


@test
def bad_messages_after_login_answered_and_closed(c):
    f = Failures()
    srv = Serving(c, f)
    try:
        cases = [
            ("Query with declared length 0x7fffffff", b"Q" + struct.pack("!I", 0x7FFFFFFF)),
            ("Query with declared length 1 GB", b"Q" + struct.pack("!I", 1 << 30)),
            ("Query with declared length 3 (< 4)", b"Q" + struct.pack("!I", 3)),
            ("unknown message type 0xff", b"\xff" + struct.pack("!I", 4)),
            # PostgreSQL checks the type byte before reading the body
            ("garbage bytes (type 0, length 16 MB)", b"\x00\x01\x02\x03garbage\xfe\xfd"),
        ]
        def case(data, what):
            with c.wire() as w:
                w.login()
                w.send(data)
                assert_error_and_close(w, "08P01", what)

        for what, data in cases:
            f.check(what, case, data, what)
            srv.check(what)

        # Malformed message bodies: PostgreSQL answers ERROR 08P01 and carries on
        # (ReadyForQuery after Sync); closing after the ErrorResponse is also
        # acceptable. Either way the gateway must live on.
        def error_then_close_or_continue(data, codes):
            with c.wire() as w:
                w.login()
                w.send(data)
                w.sock.settimeout(10)
                msgs = []
                try:
                    while not msgs or msgs[-1][0] != "Z":
                        msgs.append(w.read_msg())
                except EOFError:
                    pass
                errs = harness.errors(msgs)
                first = errs[0].get("C") if errs else None
                assert first in codes, "expected an error with SQLSTATE %s, got %r" % (
                    "/".join(codes), summarize(msgs))
                if msgs and msgs[-1][0] == "Z":
                    eq(harness.data_rows(w.query("SELECT 1")), [["1"]], "SELECT 1 afterwards")

        sync = message(b"S")
        for what, data, codes in [
                ("Query without NUL terminator", message(b"Q", b"SELECT 1"), ("08P01",)),
                ("Parse without NUL", message(b"P", b"\0SELECT 1") + sync, ("08P01",)),
                ("Parse without parameter count", message(b"P", b"\0SELECT 1\0\x00") + sync,
                 ("08P01",)),
                ("Bind truncated", message(b"B", b"\0\0\x00\x01") + sync, ("08P01", "26000")),
                ("Describe of kind 'Z'", message(b"D", b"Zfoo\0") + sync, ("08P01",)),
                ("Execute truncated", message(b"E", b"\0\x00") + sync, ("08P01",)),
                ("Close of kind 'Z'", message(b"C", b"Zfoo\0") + sync, ("08P01",))]:
            f.check(what, error_then_close_or_continue, data, codes)
            srv.check(what)
        # Half a message then the client disappears.
        with c.wire() as w:
            w.login()
            w.send(b"Q" + struct.pack("!I", 100) + b"SELECT")
        srv.check("truncated message and disconnect")
        f.done()
    finally:
        srv.close()


@test
def large_but_legal_query_is_served(c):
    """A 1 MB query string is not 'oversized'."""
    with c.wire() as w:
        w.login()
        lit = "x" * (1 << 20)
        msgs = w.query("SELECT length('%s')" % lit)
        eq(harness.data_rows(msgs), [[str(1 << 20)]], "length of a 1 MB literal")
        eq(harness.ready_status(msgs), "I", "status")


@test
def terminate_closes_cleanly(c):
    with c.wire() as w:
        w.login()
        w.send(message(b"X"))
        eq(w.read_until_eof(timeout=5), [], "messages after Terminate")
    # Terminate inside an open transaction: the transaction is rolled back.
    g = c.gw()
    try:
        c.execute(g, "CREATE TABLE term10 (id int PRIMARY KEY)")
        with c.wire() as w:
            w.login()
            eq(harness.ready_status(w.query("BEGIN; INSERT INTO term10 VALUES (1)")), "T", "status")
            w.send(message(b"X"))
            eq(w.read_until_eof(timeout=5), [], "messages after Terminate in a transaction")
        eq(harness.wait_until(lambda: c.rows(g, "SELECT count(*) FROM term10") == [(0,)],
                              timeout=5, what="row of the abandoned transaction to vanish"),
           True, "")
        # Client closes the socket in the middle of a transaction.
        with c.wire() as w:
            w.login()
            w.query("BEGIN; INSERT INTO term10 VALUES (2)")
        harness.wait_until(lambda: c.rows(g, "SELECT count(*) FROM term10") == [(0,)],
                           timeout=5, what="row of the dropped connection's transaction to vanish")
        c.execute(g, "INSERT INTO term10 VALUES (2)")
    finally:
        g.close()
        c.drop("term10")


@test
def many_concurrent_sessions(c):
    """50 sessions at once, each with its own state. A third of them are in a
    transaction, and each of those holds a backend connection: 17, under the
    default pool_size (20 per node over all loops; more would wait for one, as
    with pgbouncer)."""
    conns = []
    try:
        for i in range(50):
            conns.append(c.gw(application_name="s%d" % i))
        for i, g in enumerate(conns):
            if i % 3 == 0:
                c.execute(g, "BEGIN")
        for i, g in enumerate(conns):
            eq(c.scalar(g, "SELECT %s::int", (i,)), i, "SELECT on session %d" % i)
            eq(g.get_parameter_status("application_name"), "s%d" % i,
               "application_name of session %d" % i)
            eq(g.info.transaction_status,
               psycopg2.extensions.TRANSACTION_STATUS_INTRANS if i % 3 == 0 else
               psycopg2.extensions.TRANSACTION_STATUS_IDLE, "status of session %d" % i)
        for i, g in enumerate(conns):
            if i % 3 == 0:
                c.execute(g, "COMMIT")
    finally:
        for g in conns:
            g.close()


def run_cancelled(c, g, sql, after=0.5, within=5.0):
    """Run sql on g in a thread, cancel after `after` s; the statement must
    end with 57014 within `within` s of the cancel. Returns the exception."""
    box = {}

    def run():
        try:
            with g.cursor() as cur:
                cur.execute(sql)
            box["ok"] = True
        except Exception as e:  # noqa: BLE001
            box["err"] = e

    th = threading.Thread(target=run, daemon=True)
    th.start()
    time.sleep(after)
    t0 = time.monotonic()
    g.cancel()
    th.join(within + 30)
    took = time.monotonic() - t0
    assert not th.is_alive(), "statement still running %.0fs after cancel: %s" % (took, sql)
    assert "ok" not in box, "statement finished normally despite the cancel: %s" % sql
    e = box["err"]
    assert isinstance(e, psycopg2.Error), "unexpected exception %r" % e
    eq(e.pgcode, "57014", "SQLSTATE of the cancelled %r (%s)" % (sql, e.pgerror))
    assert took < within, "cancel took %.1fs" % took
    return e


def sleeping_backends(c):
    """pg_sleep statements still running on the nodes (not our own query)."""
    out = []
    for k, rows in enumerate(c.on_each_node(
            "SELECT pid, query FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()"), 1):
        out += [(k, r) for r in rows]
    return out


@test(timeout=120)
def cancel_request(c):
    g = c.gw()
    try:
        # A statement on no table (runs on one node).
        e = run_cancelled(c, g, "SELECT pg_sleep(30)")
        harness.log("  cancelled: %s" % e.diag.message_primary)
        eq(c.scalar(g, "SELECT 1"), 1, "SELECT 1 after the cancel")
        harness.wait_until(lambda: not sleeping_backends(c), timeout=5,
                           what="pg_sleep to stop on the nodes")

        # A fan-out statement over every shard: cancelled on every backend.
        c.execute(g, "CREATE TABLE c11 (id int PRIMARY KEY)")
        c.rows(g, "SELECT create_distributed_table('c11', 'id', shard_count => 6)")
        harness.insert_rows(g, "c11", [(i,) for i in range(1, 61)])
        run_cancelled(c, g, "SELECT id FROM c11 WHERE pg_sleep(1) IS NOT NULL")
        eq(c.scalar(g, "SELECT 1"), 1, "SELECT 1 after cancelling the fan-out")
        harness.wait_until(lambda: not sleeping_backends(c), timeout=5,
                           what="fan-out pg_sleep to stop on every node: %r" % sleeping_backends(c))

        # Cancel inside a transaction: aborted transaction, ROLLBACK recovers.
        c.execute(g, "BEGIN")
        c.execute(g, "INSERT INTO c11 VALUES (1000)")
        run_cancelled(c, g, "SELECT pg_sleep(30) FROM c11 WHERE id = 1000")
        expect_sqlstate(lambda: c.execute(g, "SELECT 1"), "25P02", "statement after the cancel")
        c.execute(g, "ROLLBACK")
        eq(c.rows(g, "SELECT id FROM c11 WHERE id = 1000"), [], "row of the cancelled transaction")

        # Cancelling an idle session is harmless.
        g.cancel()
        time.sleep(0.3)
        eq(c.scalar(g, "SELECT 1"), 1, "SELECT 1 after cancelling an idle session")
    finally:
        g.close()
        c.drop("c11")


if __name__ == "__main__":
    harness.main(nodes=3)
