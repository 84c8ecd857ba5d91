"""Many `python -m jobs` runners, one after the other, without paying Python's imports each time: this process
imports the runner and every module its daemons load (web3, the subscribers: about 3 s, twice that on a loaded
machine), then forks one real runner per line read on stdin. Each child is a fresh runner process (its own pid,
holder id, scheduler, database connections; the parent never opens one), running `jobs.__main__.main` with the
arguments given here; the line sets its PRIMSELL_FAULT_POINT ("-": none).

Usage: python runner_zygote.py LOG [runner arguments...]
stdin: one line per runner to start. stdout: "started <pid>" when forked, "exited <pid> <code>" when it ended
(code -9: SIGKILL). The children append their output to LOG. Run it in its own session: killing its process group
ends it and any child left.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import jobs.__main__ as jobs_main
import jobs.registry  # noqa: F401  (every daemon's module)
from backend.faults import ENV
from backend.workflow import outbox


def main() -> int:
    log, args = sys.argv[1], sys.argv[2:]
    outbox.load_subscribers()  # imports only: no database until a child runs
    for line in sys.stdin:
        spec = line.strip()
        pid = os.fork()
        if pid == 0:  # the runner
            code = 70
            try:
                fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                if spec and spec != "-":
                    os.environ[ENV] = spec
                else:
                    os.environ.pop(ENV, None)
                code = jobs_main.main(args)
            except BaseException:  # noqa: BLE001
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(f"started {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exited {pid} {os.waitstatus_to_exitcode(status)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
