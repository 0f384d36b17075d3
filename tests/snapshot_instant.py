#!/usr/bin/env python3
# snapshot_instant.py LOG DIR N WHAT: each of DIR/0 .. DIR/N-1, a
# checkpoint or a /v1/snapshot of a daemon that follows LOG (the file as it
# is now; it only grew), is one instant: its counters hold exactly the
# lines its source entry says were read, and that many newlines lie before
# the entry's offset in LOG.  WHAT names them in the messages.
import struct, sys

log, copies, n, what = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = open(log, 'rb').read()
seen = set()
for i in range(n):
    b = open(f'{copies}/{i}', 'rb').read()
    assert b[:8] == b'LOGTALLY', f'{what} {i}: no magic'
    nsec = struct.unpack_from('<I', b, 12)[0]
    sections = {}
    for k in range(nsec):
        typ, _, off, length, _ = struct.unpack_from('<IIQQQ', b, 32 + 32 * k)
        sections[typ] = (off, length)
    off, _ = sections[1]
    lines = struct.unpack_from('<Q', b, off)[0]
    off, _ = sections[8]
    count = struct.unpack_from('<I', b, off)[0]
    p = off + 4
    read = 0
    for _ in range(count):
        plen = struct.unpack_from('<I', b, p)[0]
        p += 4 + plen
        dev, ino, offset, size, slines = struct.unpack_from('<QQQQQ', b, p)
        p += 8 * 8 + 4 + 8 + 1
        read += slines
        nl = data.count(b'\n', 0, offset)
        if nl != slines:
            sys.exit(f'{what} {i}: {slines} lines read before byte {offset}, '
                     f'but {nl} newlines there')
    if read != lines:
        sys.exit(f'{what} {i}: the counters hold {lines} lines, '
                 f'the positions {read}')
    seen.add(lines)
print(f'  {n} {what}s, {len(seen)} distinct instants, each one instant '
      f'(counts = lines before the positions)')
