"""MiniTower demo job: greets, works for a few seconds, fails now and then."""
import json
import os
import random
import sys
import time

with open(os.environ["MINITOWER_INPUT_FILE"], encoding="utf-8") as f:
    params = json.load(f)
name = params.get("name", "World")
seconds = float(params.get("seconds", 2))
fail_rate = float(params.get("fail_rate", 0.1))

print(f"Hello, {name}! This is run #{os.environ.get('MINITOWER_RUN_NO', '?')}, "
      f"attempt {os.environ.get('MINITOWER_ATTEMPT_NO', '?')}.")
steps = max(1, int(seconds * 2))
for i in range(steps):
    time.sleep(seconds / steps)
    print(f"step {i + 1}/{steps} done")
if random.random() < fail_rate:
    print("something went wrong (on purpose)", file=sys.stderr)
    sys.exit(1)
print("all done")
