"""measure.py OUT CMD [ARGS...]: runs CMD (stdin/stdout/stderr inherited),
then writes "wall=S user=S sys=S rc=N" to OUT: the wall time and the CPU
time of CMD and its children (getrusage). Used by bench/*_bench.sh."""
import os
import resource
import subprocess
import sys
import time

out, cmd = sys.argv[1], sys.argv[2:]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
rc = subprocess.call(cmd)
wall = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    f.write("wall=%.6f user=%.6f sys=%.6f rc=%d\n" % (
        wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, rc))
sys.exit(rc)
