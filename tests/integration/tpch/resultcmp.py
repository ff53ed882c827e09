"""Result comparison for the analytical and differential suites.

A result is (columns, rows): columns = [(name, type oid)], rows normalized
to tuples of (type name, text) so that numeric scale counts (1.5 vs 1.50 is
a difference, as a client would see it) and rows of mixed None/values sort.
"""


def norm_value(v):
    if v is None:
        return ("null", "")
    return (type(v).__name__, str(v))


def run(conn, sql):
    """(columns, rows) of sql on conn; raises psycopg2.Error."""
    with conn.cursor() as cur:
        cur.execute(sql)
        cols = [(d.name, d.type_code) for d in cur.description] if cur.description else []
        rows = [tuple(norm_value(v) for v in r) for r in cur.fetchall()] if cur.description else []
    return cols, rows


def same(got, want, ordered):
    """None when equal, else a short description of the first difference."""
    gcols, grows = got
    wcols, wrows = want
    if gcols != wcols:
        return "columns differ: got %r, want %r" % (gcols, wcols)
    if not ordered:
        grows, wrows = sorted(grows), sorted(wrows)
    if len(grows) != len(wrows):
        return "row count: got %d, want %d" % (len(grows), len(wrows))
    for i, (g, w) in enumerate(zip(grows, wrows)):
        if g != w:
            return "row %d: got %r, want %r" % (i, g, w)
    return None
