"""Deterministic TPC-H-shaped data at a small scale, and its INSERT statements.

generate(scale=1, seed=20240501) returns {table: [row tuples]} in load order
(region, nation, supplier, customer, part, partsupp, orders, lineitem). At
scale 1: 20 suppliers, 150 customers, 200 parts, 800 partsupp rows, 1000
orders and about 4000 lineitems. Values follow TPC-H's shapes (segments,
priorities, ship modes, brands, containers, dates 1992-1998, returnflag and
linestatus derived from dates) so the TPC-H queries find rows.

insert_sql(table, rows, batch) yields multi-row INSERT statements (literals
formatted here; the data is ours, not user input).
"""

import datetime
import random
from decimal import Decimal

REGIONS = ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"]
NATIONS = [("ALGERIA", 0), ("ARGENTINA", 1), ("BRAZIL", 1), ("CANADA", 1), ("EGYPT", 4),
           ("ETHIOPIA", 0), ("FRANCE", 3), ("GERMANY", 3), ("INDIA", 2), ("INDONESIA", 2),
           ("IRAN", 4), ("IRAQ", 4), ("JAPAN", 2), ("JORDAN", 4), ("KENYA", 0), ("MOROCCO", 0),
           ("MOZAMBIQUE", 0), ("PERU", 1), ("CHINA", 2), ("ROMANIA", 3), ("SAUDI ARABIA", 4),
           ("VIETNAM", 2), ("RUSSIA", 3), ("UNITED KINGDOM", 3), ("UNITED STATES", 1)]
SEGMENTS = ["AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY"]
PRIORITIES = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"]
SHIPMODES = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"]
INSTRUCTS = ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"]
TYPE1 = ["STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO"]
TYPE2 = ["ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED"]
TYPE3 = ["TIN", "NICKEL", "BRASS", "STEEL", "COPPER"]
CONT1 = ["SM", "LG", "MED", "JUMBO", "WRAP"]
CONT2 = ["CASE", "BOX", "BAG", "JAR", "PKG", "PACK", "CAN", "DRUM"]
COLORS = ["almond", "antique", "aquamarine", "azure", "beige", "bisque", "black", "blanched",
          "blue", "blush", "brown", "burlywood", "burnished", "chartreuse", "chiffon",
          "chocolate", "coral", "cornflower", "cornsilk", "cream", "cyan", "dark", "deep",
          "dim", "dodger", "drab", "firebrick", "floral", "forest", "frosted", "gainsboro",
          "ghost", "goldenrod", "green", "grey", "honeydew", "hot", "indian", "ivory", "khaki",
          "lace", "lavender", "lawn", "lemon", "light", "lime", "linen", "magenta", "maroon"]
WORDS = ["furiously", "quickly", "carefully", "blithely", "slyly", "express", "regular",
         "special", "pending", "final", "ironic", "bold", "even", "silent", "unusual",
         "requests", "deposits", "accounts", "packages", "theodolites", "pinto", "beans",
         "foxes", "ideas", "dependencies", "instructions", "Customer", "Complaints"]

START = datetime.date(1992, 1, 1)
END = datetime.date(1998, 8, 2)
CURRENT = datetime.date(1995, 6, 17)


def _text(rnd, n_words, maxlen):
    return " ".join(rnd.choice(WORDS) for _ in range(n_words))[:maxlen]


def _money(rnd, lo, hi):
    return Decimal(rnd.randint(int(lo * 100), int(hi * 100))) / 100


def _phone(rnd, nation):
    return "%02d-%03d-%03d-%04d" % (10 + nation, rnd.randint(100, 999), rnd.randint(100, 999),
                                     rnd.randint(1000, 9999))


def generate(scale=1, seed=20240501):
    rnd = random.Random(seed)
    nsupp, ncust, npart, nord = 20 * scale, 150 * scale, 200 * scale, 1000 * scale
    data = {}
    data["region"] = [(i, name, _text(rnd, 6, 152)) for i, name in enumerate(REGIONS)]
    data["nation"] = [(i, name, reg, _text(rnd, 8, 152)) for i, (name, reg) in enumerate(NATIONS)]
    supp = []
    for k in range(1, nsupp + 1):
        nat = rnd.randrange(25)
        comment = _text(rnd, 6, 101)
        if k % 7 == 3:
            comment = "Customer " + comment[:40] + " Complaints"
        supp.append((k, "Supplier#%09d" % k, "addr %d %s" % (k, rnd.choice(WORDS)), nat,
                     _phone(rnd, nat), _money(rnd, -999.99, 9999.99), comment))
    data["supplier"] = supp
    cust = []
    for k in range(1, ncust + 1):
        nat = rnd.randrange(25)
        cust.append((k, "Customer#%09d" % k, "caddr %d" % k, nat, _phone(rnd, nat),
                     _money(rnd, -999.99, 9999.99), rnd.choice(SEGMENTS), _text(rnd, 7, 117)))
    data["customer"] = cust
    parts = []
    for k in range(1, npart + 1):
        name = " ".join(rnd.sample(COLORS, 5))
        m = rnd.randint(1, 5)
        parts.append((k, name, "Manufacturer#%d" % m, "Brand#%d%d" % (m, rnd.randint(1, 5)),
                      "%s %s %s" % (rnd.choice(TYPE1), rnd.choice(TYPE2), rnd.choice(TYPE3)),
                      rnd.randint(1, 50), "%s %s" % (rnd.choice(CONT1), rnd.choice(CONT2)),
                      Decimal(90000 + (k // 10) % 20001 + 100 * (k % 1000)) / 100,
                      _text(rnd, 3, 23)))
    data["part"] = parts
    ps = []
    for k in range(1, npart + 1):
        for i in range(4):
            s = (k + i * (nsupp // 4 + (k - 1) // nsupp)) % nsupp + 1
            ps.append((k, s, rnd.randint(1, 9999), _money(rnd, 1.0, 1000.0), _text(rnd, 10, 199)))
    # the supplier formula can repeat a pair for small nsupp: keep the first
    seen = set()
    data["partsupp"] = [r for r in ps if not ((r[0], r[1]) in seen or seen.add((r[0], r[1])))]
    supp_of_part = {}
    for r in data["partsupp"]:
        supp_of_part.setdefault(r[0], []).append(r[1])
    orders, items = [], []
    price = {p[0]: p[7] for p in parts}
    span = (END - START).days - 151
    for i in range(1, nord + 1):
        okey = i * 4 - (i % 3)  # sparse keys, like TPC-H
        cust_k = rnd.randint(1, ncust)
        while cust_k % 3 == 0:  # a third of the customers never order
            cust_k = rnd.randint(1, ncust)
        odate = START + datetime.timedelta(days=rnd.randint(0, span))
        lines, total, statuses = [], Decimal(0), set()
        for ln in range(1, rnd.randint(1, 7) + 1):
            pk = rnd.randint(1, npart)
            sk = rnd.choice(supp_of_part[pk])
            qty = Decimal(rnd.randint(1, 50))
            ext = qty * price[pk]
            disc = Decimal(rnd.randint(0, 10)) / 100
            tax = Decimal(rnd.randint(0, 8)) / 100
            ship = odate + datetime.timedelta(days=rnd.randint(1, 121))
            commit = odate + datetime.timedelta(days=rnd.randint(30, 90))
            receipt = ship + datetime.timedelta(days=rnd.randint(1, 30))
            rflag = (rnd.choice("RA") if receipt <= CURRENT else "N")
            lstatus = "O" if ship > CURRENT else "F"
            statuses.add(lstatus)
            total += ext * (1 + tax) * (1 - disc)
            lines.append((okey, pk, sk, ln, qty, ext, disc, tax, rflag, lstatus, ship, commit,
                          receipt, rnd.choice(INSTRUCTS), rnd.choice(SHIPMODES),
                          _text(rnd, 4, 44)))
        status = "F" if statuses == {"F"} else ("O" if statuses == {"O"} else "P")
        comment = _text(rnd, 5, 79)
        if i % 11 == 0:
            comment = "special " + comment[:30] + " requests"
        orders.append((okey, cust_k, status, total.quantize(Decimal("0.01")), odate,
                       rnd.choice(PRIORITIES), "Clerk#%09d" % rnd.randint(1, 50), 0, comment))
        items.extend(lines)
    data["orders"] = orders
    data["lineitem"] = items
    return data


def literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, Decimal)):
        return str(v)
    if isinstance(v, datetime.date):
        return "'%s'" % v.isoformat()
    return "'" + str(v).replace("'", "''") + "'"


def insert_sql(table, rows, batch=500):
    for i in range(0, len(rows), batch):
        yield "INSERT INTO %s VALUES %s" % (
            table, ", ".join("(" + ", ".join(literal(v) for v in r) + ")"
                             for r in rows[i:i + batch]))


TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]
