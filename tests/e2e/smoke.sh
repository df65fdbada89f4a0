#!/bin/sh
# The quickstart smoke test (scripts/smoke.sh) as part of `make check`; it
# prints TAP itself and uses the binaries under test ($MT_BIN).
exec sh "$(cd "$(dirname "$0")/../.." && pwd)/scripts/smoke.sh"
