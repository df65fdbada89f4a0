"""Differential test of src/lib/cron.c against an independent implementation,
Debian's python3-croniter (docs/cron.md): random expressions of the whole
shared grammar (lists, ranges, steps, a/n, names in any case, 7 = Sunday,
six fields, macros) at random start times from 2000 to 2035 in UTC,
Asia/Kathmandu (+05:45, no DST) and America/New_York (cases whose interval
crosses a DST change are left out: croniter's DST handling is not ours).
Each case compares the next two fire times. Tower's "every N minutes|
hours|days" is compared too, with the cron expression it equals where it
equals one: "every N minutes" with N dividing 60 is "*/N * * * *" in UTC and
New York (whole-hour offsets), and in Kathmandu for N dividing 15; "every N
hours" (N dividing 24) and "every 1 days" only in UTC. Seeded:
CRON_DIFF_SEED (default 20261207, so CI runs the same cases every time;
"random" picks a new seed) reproduces a run, CRON_DIFF_N sets the number of
expressions (default 10000; each is tried in all three zones, or in those
where an "every" equals its cron expression). Our tool is
$MT_BUILD/tools/cron_next. Prints TAP; "# SKIP" without croniter.

Deliberate differences, excluded and counted (never silently):
- Vixie's OR rule: we OR day-of-month and day-of-week when neither field
  starts with '*'; croniter ORs when neither field covers every value. The
  two agree after giving croniter day_or=False whenever we AND, except when
  a field that does not start with '*' covers every value (e.g. "1-31" or
  "0-6"): we OR (every day), croniter keeps only the other field.
- croniter writes the seconds field last; we write it first (translated).
- croniter 1.3.5 skips days at a month's end: from Feb 22 with
  day-of-month "1,30" it answers Mar 30, not Mar 1 (_get_next_nearest_diff
  counts to day 30 of February). The driver patches that one function to
  treat days past the month's length as absent (patched, not excluded).
- croniter 1.3.5 computes the OR of the day fields as two searches and
  fails as a whole when one of them can never match (day-of-month 31 in
  February OR Fridays): the driver runs the two AND-searches itself and
  takes the earlier (the same rule, without the failure).
- "does not fire within 5 years": ours stops there (cron.h); such a case
  agrees when croniter's next fire is more than 5 x 366 days away.
- croniter 1.3.5 does not map weekday 7 to Sunday in six-field expressions
  (its LOWMAP exception): for six fields the driver hands it the weekday
  set written with 0 for Sunday (translated, not excluded).
"""

import datetime
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runs_common import BUILD, Tap, check  # noqa: E402

try:
    from zoneinfo import ZoneInfo
    import croniter as croniter_mod
except ImportError:  # pragma: no cover - depends on the machine
    croniter_mod = None

ZONES = ["UTC", "Asia/Kathmandu", "America/New_York"]
T_FROM = 946684800      # 2000-01-01T00:00:00Z
T_TO = 2051222400       # 2035-01-01T00:00:00Z
FIRES = 2               # fire times compared per case
SEED_ENV = os.environ.get("CRON_DIFF_SEED", "20261207")
SEED = int(time.time()) if SEED_ENV == "random" else int(SEED_ENV)
N = int(os.environ.get("CRON_DIFF_N", "10000"))
TOOL = os.path.join(BUILD, "tools", "cron_next")

# field: (lo, hi of single values, hi of ranges and of '*', names or None)
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
FIELDS = {
    "sec": (0, 59, 59, None, 0),
    "min": (0, 59, 59, None, 0),
    "hour": (0, 23, 23, None, 0),
    "mday": (1, 31, 31, None, 0),
    "mon": (1, 12, 12, MONTHS, 1),
    # 7 = Sunday, also as a range end and the end of '*' and 'a/n'
    "wday": (0, 7, 7, DAYS, 0),
}
MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
          "@hourly": "0 * * * *"}


def value(rng, spec, hi=None):
    lo, vhi, _, names, base = spec
    v = rng.randint(lo, vhi if hi is None else hi)
    if names is not None and rng.random() < 0.3 and v - base < len(names):
        name = names[v - base]
        return rng.choice([name, name.upper(), name.capitalize()])
    return str(v)


def item(rng, spec):
    lo, _, rhi, _, _ = spec
    span = rhi - lo + 1
    k = rng.random()
    if k < 0.25:
        return value(rng, spec)
    if k < 0.45:
        a = rng.randint(lo, rhi)
        b = rng.randint(a, rhi)
        return "%s-%s" % (value_of(spec, a, rng), value_of(spec, b, rng))
    if k < 0.65:
        return "*/%d" % rng.randint(1, span)
    if k < 0.8:
        a = rng.randint(lo, rhi)
        b = rng.randint(a, rhi)
        return "%s-%s/%d" % (value_of(spec, a, rng), value_of(spec, b, rng), rng.randint(1, span))
    return "%s/%d" % (value_of(spec, rng.randint(lo, rhi), rng), rng.randint(1, span))


def value_of(spec, v, rng):
    _, _, _, names, base = spec
    if names is not None and rng.random() < 0.3 and 0 <= v - base < len(names):
        return names[v - base].upper() if rng.random() < 0.5 else names[v - base]
    return str(v)


def field(rng, name, star_p):
    spec = FIELDS[name]
    if rng.random() < star_p:
        return "*"
    return ",".join(item(rng, spec) for _ in range(rng.choice([1, 1, 1, 2, 3])))


def every(rng):
    """(our "every" expression, croniter's equal expression, the zones
    where the two are equal)."""
    k = rng.random()
    if k < 0.6:
        n = rng.choice([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60])
        zones = ZONES if 15 % n == 0 else ["UTC", "America/New_York"]
        return "every %d %s" % (n, rng.choice(["minutes", "Minutes", "minute"])), \
            ("*/%d * * * *" % n if n < 60 else "0 * * * *"), zones
    if k < 0.9:
        n = rng.choice([1, 2, 3, 4, 6, 8, 12, 24])
        return "every %d hours" % n, ("0 */%d * * *" % n if n < 24 else "0 0 * * *"), ["UTC"]
    return "every 1 days", "0 0 * * *", ["UTC"]


def expression(rng):
    """(our expression, croniter's expression, zones)."""
    if rng.random() < 0.03:
        return every(rng)
    return fields_expression(rng) + (ZONES,)


def fields_expression(rng):
    """(our expression, croniter's expression)."""
    if rng.random() < 0.03:
        m = rng.choice(sorted(MACROS))
        return rng.choice([m, m.upper()]), MACROS[m]
    f = [field(rng, "min", 0.3), field(rng, "hour", 0.4), field(rng, "mday", 0.6),
         field(rng, "mon", 0.6), field(rng, "wday", 0.6)]
    if rng.random() < 0.2:
        s = field(rng, "sec", 0.2)
        return " ".join([s] + f), " ".join(f[:4] + [weekdays_0_6(" ".join(f)), s])
    return " ".join(f), " ".join(f)


def weekdays_0_6(five):
    """croniter 1.3.5 maps weekday 7 to Sunday only in five-field
    expressions: for six fields it gets the weekday set it computes for the
    same five fields, written out with 0 for Sunday."""
    expanded, _ = croniter_mod.croniter.expand(five)
    if five.split()[4].startswith("*") and expanded[4] == ["*"]:
        return "*"
    return ",".join(str(d) for d in expanded[4]) if expanded[4] != ["*"] else "0-6"


def day_rule(ours, theirs):
    """croniter's day_or for this expression, or None for a deliberate
    difference (see the module comment)."""
    w = (theirs if ours.startswith(("@", "every")) else ours).split()
    dom, dow = w[-3], w[-1]
    we_or = not dom.startswith("*") and not dow.startswith("*")
    if not we_or:
        return False
    expanded, _ = croniter_mod.croniter.expand(theirs)
    if expanded[2] == ["*"] or expanded[4] == ["*"]:
        return None
    return True


def crosses_dst(tz, a, b):
    """True when the UTC offset of tz is not the same all through [a, b]
    (sampled every 30 days, closer than any two DST changes)."""
    z = ZoneInfo(tz)
    off = datetime.datetime.fromtimestamp(a, z).utcoffset()
    t = a
    while True:
        t = min(t + 30 * 86400, b)
        if datetime.datetime.fromtimestamp(t, z).utcoffset() != off:
            return True
        if t >= b:
            return False


def next_nearest_diff(self, x, to_check, range_val):
    """croniter's _get_next_nearest_diff without its month-end bug: a day
    past range_val (the month's length) does not exist this month."""
    for d in to_check:
        if d == "l":
            d = range_val
        if d > range_val:
            break
        if d >= x:
            return d - x
    return to_check[0] - x + range_val


if croniter_mod is not None:
    croniter_mod.croniter._get_next_nearest_diff = next_nearest_diff


def croniter_one(expr, tz, start):
    """croniter's next fire with the day fields AND-ed, or None when it
    finds none (within its own 50 years)."""
    it = croniter_mod.croniter(expr, datetime.datetime.fromtimestamp(start, ZoneInfo(tz)),
                               day_or=False)
    try:
        return int(it.get_next(float))
    except croniter_mod.CroniterBadDateError:
        return None


def croniter_next(expr, tz, start, day_or):
    """The next fire; with day_or, the earlier of the day-of-month search
    and the day-of-week search, as croniter itself does."""
    if not day_or:
        return croniter_one(expr, tz, start)
    w = expr.split()
    dom_only = " ".join(w[:4] + ["*"] + w[5:])
    dow_only = " ".join(w[:2] + ["*"] + w[3:])
    found = [t for t in (croniter_one(dom_only, tz, start), croniter_one(dow_only, tz, start))
             if t is not None]
    return min(found) if found else None


def croniter_fires(expr, tz, start, day_or):
    fires, t = [], start
    for _ in range(FIRES):
        t = croniter_next(expr, tz, t, day_or)
        if t is None:
            break
        fires.append(t)
    return fires


def never_fires(theirs):
    """Independent check of our "can never fire" refusal: with the day
    fields AND-ed, no selected month has a selected day."""
    expanded, _ = croniter_mod.croniter.expand(theirs)
    mdays = range(1, 32) if expanded[2] == ["*"] else expanded[2]
    months = range(1, 13) if expanded[3] == ["*"] else expanded[3]
    longest = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30,
               12: 31}
    return not any(d <= longest[m] for m in months for d in mdays)


def make_cases(rng):
    cases = []
    for _ in range(N):
        ours, theirs, zones = expression(rng)
        for tz in zones:
            cases.append((ours, theirs, tz, rng.randint(T_FROM, T_TO)))
    return cases


def run_ours(cases):
    text = "".join("%s\t%s\t%d\t%d\n" % (o, tz, t, FIRES) for o, _, tz, t in cases)
    out = subprocess.run([TOOL], input=text, capture_output=True, text=True, timeout=600,
                         check=True).stdout.splitlines()
    check(len(out) == len(cases), "tool answered %d lines for %d cases" % (len(out), len(cases)))
    return out


def compare(case, got, stats):
    """None when the case agrees (or is excluded), else a description."""
    ours, theirs, tz, start = case
    if got.startswith("error: cron: the expression can never fire"):
        stats["never"] += 1
        return None if never_fires(theirs) else "refused as never firing"
    day_or = day_rule(ours, theirs)
    if day_or is None:
        stats["excluded_or_rule"] += 1
        return None
    want = croniter_fires(theirs, tz, start, day_or)
    if tz == "America/New_York" and crosses_dst(tz, start - 86400, (want or [start])[-1] + 86400):
        stats["excluded_dst"] += 1
        return None
    mine, beyond = got.split(" error: ")[0].split(), "does not fire within 5 years" in got
    if got.startswith("error:"):
        mine = []
    if mine != [str(t) for t in want[:len(mine)]] or (not beyond and len(mine) != FIRES):
        return "ours %r, croniter %r" % (got, want)
    if beyond:
        last = ([start] + want)[len(mine)]
        if len(want) > len(mine) and want[len(mine)] - last <= 5 * 366 * 86400:
            return "ours %r, croniter %r" % (got, want)
        stats["beyond_5_years"] += 1
    stats["compared"] += 1
    if ours.lower().startswith("every"):
        stats["every"] += 1
    return None


tap = Tap()


@tap.test
def cron_matches_croniter():
    rng = random.Random(SEED)
    cases = make_cases(rng)
    got = run_ours(cases)
    stats = {"compared": 0, "every": 0, "beyond_5_years": 0, "never": 0, "excluded_or_rule": 0, "excluded_dst": 0}
    bad = []
    for case, line in zip(cases, got):
        why = compare(case, line, stats)
        if why is not None:
            bad.append("%r in %s after %d: %s" % (case[0], case[2], case[3], why))
    print("# seed %d: %d cases, %s" % (SEED, len(cases), stats))
    for b in bad[:20]:
        print("# " + b)
    check(not bad, "%d differences (seed %d)" % (len(bad), SEED))
    check(stats["compared"] >= N, "only %d cases compared" % stats["compared"])


def main():
    print("# CRON_DIFF_SEED=%d CRON_DIFF_N=%d" % (SEED, N), flush=True)
    if croniter_mod is None:
        print("ok 1 - cron_matches_croniter # SKIP python3-croniter is not installed")
        print("1..1")
        return 0
    if not os.access(TOOL, os.X_OK):
        print("not ok 1 - cron_matches_croniter: %s is not built (make build-tests)" % TOOL)
        print("1..1")
        return 1
    return 1 if tap.main() else 0


if __name__ == "__main__":
    sys.exit(main())
