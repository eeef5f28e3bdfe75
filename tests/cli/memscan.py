# memscan.py PID HEX...: how many times each needle (hex bytes) occurs in the readable
# memory of process PID (/proc/PID/maps and /proc/PID/mem; root reads any process), one
# count per needle on one line. Used by the tests that prove what a process does not hold.
import sys, re
pid, needles = sys.argv[1], [bytes.fromhex(x) for x in sys.argv[2:]]
hits = [0] * len(needles)
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        lo, hi, perm = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
        if perm[0] != "r" or "[vvar" in line or "[vsyscall" in line:
            continue
        # a sanitizer's shadow is terabytes of reserved, untouched pages: no data of ours
        if hi - lo > (4 << 30):
            continue
        off, step, tail = lo, 64 << 20, b""
        while off < hi:
            try:
                mem.seek(off); data = tail + mem.read(min(step, hi - off))
            except OSError:
                break
            for k, n in enumerate(needles):
                hits[k] += data.count(n)
            keep = max(len(n) for n in needles) - 1
            tail = data[-keep:] if keep > 0 else b""
            for k, n in enumerate(needles):  # what straddles chunks is counted once, in the next
                hits[k] -= tail.count(n)
            off += step
print(" ".join(map(str, hits)))
