"""Foundation: SCRAM-SHA-256 authentication at the gateway.

A second gateway is started by the test on its own port, in front of the
same nodes, with `auth_type = scram-sha-256` and an `auth_file` of lines
`"user" "SCRAM-SHA-256$..."`; the verifier comes from
`$SG_BIN --make-scram-verifier PASSWORD`. Skipped (not passed) while that
option does not exist.
"""

import os
import signal
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test, Skip, parse_fields  # noqa: E402

PASSWORD = "s3cret pässword"


class ScramGateway:
    def __init__(self, c):
        self.c = c
        self.proc = None
        self.port = None
        self.log_path = os.path.join(c.dir, "gateway-scram.log")

    def start(self, verifier):
        c = self.c
        auth = os.path.join(c.dir, "scram-users.txt")
        with open(auth, "w") as f:
            f.write('"postgres" "%s"\n' % verifier)
            f.write('"other" "%s"\n' % verifier)
        self.port = harness.free_port_range(0)
        conf = os.path.join(c.dir, "gateway-scram.conf")
        with open(conf, "w") as f:
            f.write("listen_addr = 127.0.0.1\n")
            f.write("port = %d\n" % self.port)
            f.write("metadata_node = 'host=127.0.0.1 port=%d dbname=postgres user=postgres'\n" % c.node_port(1))
            f.write("auth_type = scram-sha-256\n")
            f.write("auth_file = %s\n" % auth)
            f.write("log_level = info\n")
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([harness.SG_BIN, "--config", conf], stdout=logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("SCRAM gateway exited with %s:\n%s" % (
                    self.proc.returncode, open(self.log_path, errors="replace").read()[-3000:]))
            try:
                with harness.Wire(self.port, timeout=2) as w:
                    w.startup({"user": "postgres", "database": "postgres"})
                    t, _ = w.read_msg()
                    return t in "RE"
            except (OSError, EOFError):
                return False
        harness.wait_until(up, timeout=30, what="SCRAM gateway on port %d" % self.port)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def sanitizer_report(self):
        try:
            text = open(self.log_path, errors="replace").read()
        except OSError:
            return ""
        for m in harness.SANITIZER_MARKERS:
            if m in text:
                i = text.index(m)
                return text[max(0, i - 500):i + 4000]
        return ""


def make_verifier(password):
    try:
        r = subprocess.run([harness.SG_BIN, "--make-scram-verifier", password],
                           capture_output=True, text=True, timeout=30)
    except OSError as e:
        raise Skip("cannot run %s: %s" % (harness.SG_BIN, e))
    out = r.stdout.strip()
    if r.returncode != 0 or not out.startswith("SCRAM-SHA-256$"):
        raise Skip("%s --make-scram-verifier is not available (rc %d: %s)" % (
            harness.SG_BIN, r.returncode, (r.stderr or out).strip()[:200]))
    return out.splitlines()[-1].strip()


@test(timeout=180)
def scram_sha_256_login(c):
    verifier = make_verifier(PASSWORD)
    # Format: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, like PostgreSQL's.
    head, keys = verifier.split("$")[1:3]
    assert ":" in head and ":" in keys, "verifier format: %r" % verifier
    v2 = make_verifier(PASSWORD)
    assert v2 != verifier, "two verifiers of one password share a salt"

    sg = ScramGateway(c)
    try:
        sg.start(verifier)
        # The server asks for SASL with SCRAM-SHA-256.
        with harness.Wire(sg.port) as w:
            w.startup({"user": "postgres", "database": "postgres"})
            t, pl = w.read_msg()
            eq(t, "R", "first message after startup")
            eq(struct.unpack("!I", pl[:4])[0], 10, "authentication request (AuthenticationSASL)")
            assert b"SCRAM-SHA-256\0" in pl[4:], "mechanisms offered: %r" % pl[4:]

        g = c.connect(sg.port, password=PASSWORD)
        try:
            eq(c.scalar(g, "SELECT current_user"), "postgres", "current_user over SCRAM")
            eq(c.scalar(g, "SELECT 1"), 1, "SELECT 1 over SCRAM")
        finally:
            g.close()

        try:
            c.connect(sg.port, password="wrong").close()
            raise AssertionError("login with a wrong password succeeded")
        except psycopg2.OperationalError as e:
            assert 'password authentication failed for user "postgres"' in str(e), str(e)
        try:
            c.connect(sg.port, password=PASSWORD, user="nobody").close()
            raise AssertionError("login of an unknown user succeeded")
        except psycopg2.OperationalError as e:
            assert 'password authentication failed for user "nobody"' in str(e), str(e)
        try:
            c.connect(sg.port).close()
            raise AssertionError("login without a password succeeded")
        except psycopg2.OperationalError:
            pass

        # SQLSTATE over the wire: 28P01 for a bad proof.
        with harness.Wire(sg.port) as w:
            w.startup({"user": "postgres", "database": "postgres"})
            w.read_msg()
            first = b"n,,n=,r=abcdefghijklmnopqrstuvwx"
            w.send(harness.message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first))
            t, pl = w.read_msg()
            eq((t, struct.unpack("!I", pl[:4])[0]), ("R", 11), "AuthenticationSASLContinue")
            server_first = pl[4:].decode()
            nonce = dict(x.split("=", 1) for x in server_first.split(","))["r"]
            assert nonce.startswith("abcdefghijklmnopqrstuvwx"), server_first
            final = ("c=biws,r=%s,p=%s" % (nonce, "A" * 43 + "=")).encode()
            w.send(harness.message(b"p", final))
            msgs = w.read_until_eof()
            errs = [parse_fields(p) for t, p in msgs if t == "E"]
            eq([x.get("C") for x in errs], ["28P01"], "SQLSTATE for a wrong SCRAM proof")

        # Malformed SASL: 08P01 and closed, gateway keeps serving.
        with harness.Wire(sg.port) as w:
            w.startup({"user": "postgres", "database": "postgres"})
            w.read_msg()
            w.send(harness.message(b"p", b"garbage"))
            msgs = w.read_until_eof()
            errs = [parse_fields(p) for t, p in msgs if t == "E"]
            eq([x.get("C") for x in errs], ["08P01"], "SQLSTATE for a malformed SASL message")

        env = dict(os.environ, PGPASSWORD=PASSWORD)
        r = subprocess.run([harness.PSQL, "-X", "-h", "127.0.0.1", "-p", str(sg.port), "-U",
                            "postgres", "-d", "postgres", "-Atc", "SELECT 40 + 2"],
                           capture_output=True, text=True, env=env, timeout=30)
        eq((r.returncode, r.stdout.strip()), (0, "42"), "psql over SCRAM (%s)" % r.stderr.strip())
        g = c.connect(sg.port, password=PASSWORD)
        eq(c.scalar(g, "SELECT 1"), 1, "SCRAM gateway still serving")
        g.close()
    finally:
        sg.stop()
        rep = sg.sanitizer_report()
        if rep:
            raise AssertionError("sanitizer report in %s:\n%s" % (sg.log_path, rep))


if __name__ == "__main__":
    harness.main(nodes=3)
