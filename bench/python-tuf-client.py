# SPDX-License-Identifier: Apache-2.0
# python-tuf's ngclient (the reference TUF client) as a process, for bench/run.ts tuf-pep458:
#   python3 bench/python-tuf-client.py METADATA_DIR METADATA_URL [TARGET_BASE_URL TARGET_PATH OUT_FILE]
# Refreshes (METADATA_DIR holds root.json and whatever a previous run left), then optionally
# downloads one target: the same work as bench/tufjs-client.mjs. The snapshot and targets caps are
# raised from python-tuf's default 2 MB, which refuses a PEP 458-sized snapshot. python-tuf is not
# a dependency of cairn: the row runs only where `import tuf.ngclient` works (see bench/README.md).
# Prints {"refreshSeconds": S}: the Updater's construction (it loads the trusted root) and its
# refresh, timed inside the process, without the interpreter's start-up and imports.
import json
import sys
import time

from tuf.ngclient import Updater, UpdaterConfig

metadata_dir, metadata_url, *rest = sys.argv[1:]
config = UpdaterConfig(snapshot_max_length=64 * 1024 * 1024, targets_max_length=64 * 1024 * 1024)
target_base_url = rest[0] if rest else None
start = time.perf_counter()
updater = Updater(metadata_dir, metadata_url, metadata_dir, target_base_url, config=config)
updater.refresh()
refresh_seconds = time.perf_counter() - start
if len(rest) == 3:
    info = updater.get_targetinfo(rest[1])
    if info is None:
        sys.exit(f"python-tuf: no target {rest[1]}")
    updater.download_target(info, rest[2])
print(json.dumps({"refreshSeconds": refresh_seconds}))
