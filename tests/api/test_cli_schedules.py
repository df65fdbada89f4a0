"""minitower-cli `schedules` commands against a real minitowerd (issue 14,
docs/cli.md): every subcommand's output, --json, and the exit codes of the
other commands (1 usage/invalid, 10 auth, 11 not found, 12 conflict).
Reuses test_cli's Env (one team, a private config file). Prints TAP."""
import json
import os
import shutil
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtserver import Server  # noqa: E402
from test_cli import Env, expect, towerfile  # noqa: E402

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def app_with_version(e, name):
    rc, out, err = e.run("apps", "create", name)
    assert rc == 0, (rc, out, err)
    files = {"Towerfile": towerfile(name, "main.sh"), "main.sh": "echo hi\n"}
    d = e.project(name, files)
    rc, out, err = e.run("deploy", cwd=d)
    assert rc == 0, (rc, out, err)


@test
def create_list_get_update_delete(s):
    e = Env(s, "clisched1")
    try:
        app_with_version(e, "nightly")
        rc, out, err = e.run("schedules", "create", "--app", "nightly", "--name", "every-day",
                             "--cron", "0 3 * * *", "--timezone", "Europe/London",
                             "--overlap", "queue_one", "--input", '{"n": 1}')
        assert rc == 0 and out.startswith("Schedule ") and "created (every-day, next fire" in out, \
            (rc, out, err)
        sid = out.split()[1]
        rc, out, err = e.run("schedules", "list", "--app", "nightly")
        assert rc == 0 and out.splitlines()[0].split() == [
            "ID", "NAME", "CRON", "TIMEZONE", "ENABLED", "OVERLAP", "NEXT_FIRE_AT"], out
        assert "every-day" in out and "Europe/London" in out and "queue_one" in out, out
        rc, out, err = e.run("schedules", "get", sid, "--json")
        b = json.loads(out)
        assert rc == 0 and b["cron"] == "0 3 * * *" and b["input"] == {"n": 1}, (rc, out)
        rc, out, err = e.run("schedules", "update", sid, "--cron", "30 4 * * *", "--json")
        assert rc == 0 and json.loads(out)["cron"] == "30 4 * * *", (rc, out, err)
        assert json.loads(out)["next_fire_at"].endswith(":30:00.000Z"), out
        expect(e.run("schedules", "update", sid, "--cron", "0 0 30 2 *"), 1,
               err="cron: the expression can never fire")
        expect(e.run("schedules", "create", "--app", "nightly", "--name", "every-day",
                     "--cron", "0 3 * * *"), 12)
        expect(e.run("schedules", "delete", sid), 0, out="Schedule %s deleted\n" % sid)
        expect(e.run("schedules", "get", sid), 11, err="schedule not found")
    finally:
        e.close()


@test
def pause_resume_trigger_fires(s):
    e = Env(s, "clisched2")
    try:
        app_with_version(e, "hourly")
        rc, out, err = e.run("schedules", "create", "--app", "hourly", "--name", "hourly-job",
                             "--cron", "0 * * * *", "--paused", "--json")
        b = json.loads(out)
        assert rc == 0 and b["enabled"] is False, (rc, out, err)
        sid = str(b["schedule_id"])
        expect(e.run("schedules", "resume", sid), 0, out="Schedule %s resumed\n" % sid)
        expect(e.run("schedules", "pause", sid), 0, out="Schedule %s paused\n" % sid)
        rc, out, err = e.run("schedules", "trigger", sid, "--idempotency-key", "k-1")
        assert rc == 0 and out.startswith("Fire ") and ": created (run id=" in out, (rc, out, err)
        rc2, out2, _ = e.run("schedules", "trigger", sid, "--idempotency-key", "k-1")
        assert rc2 == 0 and out2 == out, (out, out2)
        rc, out, err = e.run("schedules", "fires", sid)
        assert rc == 0 and out.splitlines()[0].split() == ["FIRE_TIME", "OUTCOME", "RUN_ID",
                                                           "REASON"], out
        assert len(out.splitlines()) == 2 and "created" in out, out
        rc, out, err = e.run("schedules", "fires", sid, "--json")
        assert rc == 0 and json.loads(out)["fires"][0]["manual"] is True, out
    finally:
        e.close()


@test
def preview_and_errors(s):
    e = Env(s, "clisched3")
    try:
        rc, out, err = e.run("schedules", "preview", "--cron", "30 9 * * *",
                             "--timezone", "Asia/Kathmandu", "--count", "3")
        lines = out.splitlines()
        assert rc == 0 and len(lines) == 3 and all(x.endswith("T03:45:00.000Z") for x in lines), \
            (rc, out, err)
        rc, out, err = e.run("schedules", "preview", "--cron", "every 15 minutes", "--json")
        assert rc == 0 and len(json.loads(out)["fire_times"]) == 5, (rc, out, err)
        expect(e.run("schedules", "preview", "--cron", "* * * * *", "--timezone", "Nowhere/Land"),
               1, err="timezone: unknown time zone")
        expect(e.run("schedules", "preview"), 1, err="--cron is required")
        expect(e.run("schedules"), 1, err="usage: minitower-cli schedules")
        expect(e.run("schedules", "bogus"), 1, err="unknown schedules subcommand: bogus")
        expect(e.run("schedules", "get", "abc"), 1, err="schedule ID must be a positive integer")
        expect(e.run("schedules", "get"), 1, err="usage: minitower-cli schedules get")
        expect(e.run("schedules", "list"), 1, err="app is required")
        expect(e.run("schedules", "list", "--app", "nope"), 11, err="app not found")
        expect(e.run("schedules", "get", "1", env={"MINITOWER_API_TOKEN": "mtk_bad"}), 10)
        expect(e.run("schedules", "create", "--app", "x", "--name", "y"), 1,
               err="--name and --cron are required")
        expect(e.run("schedules", "create", "--app", "x", "--name", "y", "--cron", "* * * * *",
                     "--input", "[1]"), 1, err="invalid --input JSON")
    finally:
        e.close()


def main():
    failed = 0
    with Server() as s:
        print("1..%d" % len(TESTS))
        for i, fn in enumerate(TESTS, 1):
            try:
                fn(s)
                print("ok %d - %s" % (i, fn.__name__))
            except Exception:
                failed += 1
                print("not ok %d - %s" % (i, fn.__name__))
                for line in traceback.format_exc().splitlines():
                    print("# " + line)
            sys.stdout.flush()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
