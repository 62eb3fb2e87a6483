#!/usr/bin/env python3
"""Reads an agent spool folder (agent/spool.c's format) the way the agent
does at start-up: segments in order, records until the first damaged one.
  spoolread.py DIR samples   -> "series<TAB>ts_us<TAB>value" per sample
  spoolread.py DIR acked     -> the same for records the state file says
                                are acknowledged (seq <= acked)
  spoolread.py DIR maxts     -> the newest sample timestamp (µs), or 0
  spoolread.py DIR summary   -> records, samples, first and last seq
  spoolread.py DIR tear      -> appends the first half of the last record
                                again, as a write cut short by a crash
"""
import os
import struct
import sys
import zlib

MAGIC = 0x57535031
HDR = 32


def segments(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith(".seg"))


def records(folder):
    for name in segments(folder):
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        off = 0
        while off + HDR <= len(data):
            magic, length, crc = struct.unpack_from(">III", data, off)
            if magic != MAGIC or off + HDR + length > len(data):
                break
            payload = data[off + HDR:off + HDR + length]
            if zlib.crc32(data[off + 12:off + HDR] + payload) & 0xFFFFFFFF != crc:
                break
            seq, = struct.unpack_from(">Q", data, off + 12)
            yield seq, payload
            off += HDR + length


def samples(frame):
    # u32 len, u8 type (3), u64 seq, u32 count, count x (i64 ts, f64, str)
    assert frame[4] == 3, "not a batch frame"
    count, = struct.unpack_from(">I", frame, 13)
    off = 17
    for _ in range(count):
        ts, value, n = struct.unpack_from(">qdH", frame, off)
        off += 18
        yield frame[off:off + n].decode(), ts, value
        off += n


def acked(folder):
    with open(os.path.join(folder, "state")) as f:
        words = f.read().split()
    return int(words[words.index("acked") + 1])


def main():
    folder, what = sys.argv[1], sys.argv[2]
    recs = list(records(folder)) if os.path.isdir(folder) else []
    if what == "acked":
        upto = acked(folder)
        recs = [(seq, fr) for seq, fr in recs if seq <= upto]
        what = "samples"
    if what == "samples":
        for _, frame in recs:
            for series, ts, value in samples(frame):
                print("%s\t%d\t%r" % (series, ts, value))
    elif what == "maxts":
        print(max((ts for _, fr in recs for _, ts, _ in samples(fr)), default=0))
    elif what == "tear":
        last = os.path.join(folder, segments(folder)[-1])
        with open(last, "rb") as f:
            data = f.read()
        seq, frame = recs[-1]
        rec = data[len(data) - HDR - len(frame):]
        assert struct.unpack_from(">Q", rec, 12)[0] == seq
        with open(last, "ab") as f:
            f.write(rec[:HDR + len(frame) // 2])
    elif what == "summary":
        n = sum(1 for _, fr in recs for _ in samples(fr))
        seqs = [s for s, _ in recs]
        print("records=%d samples=%d first_seq=%d last_seq=%d" %
              (len(recs), n, min(seqs, default=0), max(seqs, default=0)))


if __name__ == "__main__":
    main()
