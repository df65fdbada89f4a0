"""The peers' side of bench/bench.py: the same job as MiniTower's hello-sh
app for Celery and RQ (run `/bin/sh` on a one-line script in a fresh
process and capture its output), configured by environment variables:

  BENCH_REDIS_URL   redis URL of the private redis (unix:// or redis://)
  BENCH_SCRIPT      path of the one-line script
  BENCH_ACKS_LATE   "1": Celery's task_acks_late
  BENCH_PREFETCH    Celery's worker_prefetch_multiplier (default 4, Celery's own)
  BENCH_PEER        "celery": define the Celery app (RQ's processes skip it)

Celery loads this module as its app (-A peer_tasks); RQ imports run_sh by
name (peer_tasks.run_sh). Needs Debian's python3-celery and python3-rq; it
is imported only by the peers' processes, never by bench/bench.py.
"""
import os
import subprocess

SCRIPT = os.environ.get("BENCH_SCRIPT", "/dev/null")


def run_sh():
    """The job: /bin/sh SCRIPT in a new process, output captured."""
    p = subprocess.run(["/bin/sh", SCRIPT], stdin=subprocess.DEVNULL,
                       capture_output=True, check=False)
    return p.stdout.decode("utf-8", "replace")


def _celery_url():
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://"):]
    return url


def _make_celery():
    try:
        from celery import Celery
    except ImportError:
        return None
    url = _celery_url()
    a = Celery("peer_tasks", broker=url, backend=url)
    a.conf.update(
        task_acks_late=os.environ.get("BENCH_ACKS_LATE") == "1",
        worker_prefetch_multiplier=int(os.environ.get("BENCH_PREFETCH", "4")),
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        result_expires=3600,
    )
    a.task(name="peer_tasks.run_sh")(run_sh)
    return a


# Only Celery's processes pay for importing Celery: RQ's work horse imports
# this module afresh for every job.
app = _make_celery() if os.environ.get("BENCH_PEER") == "celery" else None
if app is not None:
    celery_run_sh = app.tasks["peer_tasks.run_sh"]
