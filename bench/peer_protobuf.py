#!/usr/bin/python3
"""peer_protobuf.py - the benchmark peer: the same work as

    tickpipe run --source replay:FILE --store jsonl:OUT [--lateness 10s]

written the straightforward way with Google's protobuf library (the usual
Python route for decoding Yahoo frames). Reads frame lines, strips an
optional "<ms>\t" receive-time prefix, decodes bare base64 or the version=2
JSON envelope, skips heartbeats and non-pricing envelopes, rejects frames
that do not decode or lack id/time/price or fail the rule 1 guards (price
not finite, time before 1990 or over a day ahead of the clock), drops duplicates (payload bytes
equal to the last applied frame of the symbol), numbers ticks per symbol,
keeps the cumulative average price and 1m bars with the lateness rule and
dayVolume increments of DESIGN.md, and writes tick and bar objects as the
jsonl store does. Bars are written when they close and at the end.

Usage: /usr/bin/python3 bench/peer_protobuf.py FILE OUT [--lateness-ms MS]
OUT may be - for stdout. Prints the same summary line as tickpipe.
"""
import base64
import binascii
import json
import math
import sys
import time

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

TIME_MIN_MS = 631152000000   # 1990-01-01: earlier times are rejected (rule 1)
DAY_MS = 86400000

# PricingData per reference/yahoo-streamer.md. Declared proto2-optional so
# that presence is tracked (absent is not zero); the two enums are declared
# int32, which is the same wire encoding and keeps unknown values as numbers.
FIELDS = [
    ("id", "string"), ("price", "float"), ("time", "sint64"),
    ("currency", "string"), ("exchange", "string"), ("quoteType", "int32"),
    ("marketHours", "int32"), ("changePercent", "float"),
    ("dayVolume", "sint64"), ("dayHigh", "float"), ("dayLow", "float"),
    ("change", "float"), ("shortName", "string"), ("expireDate", "sint64"),
    ("openPrice", "float"), ("previousClose", "float"),
    ("strikePrice", "float"), ("underlyingSymbol", "string"),
    ("openInterest", "sint64"), ("optionsType", "sint64"),
    ("miniOption", "sint64"), ("lastSize", "sint64"), ("bid", "float"),
    ("bidSize", "sint64"), ("ask", "float"), ("askSize", "sint64"),
    ("priceHint", "sint64"), ("vol_24hr", "sint64"),
    ("volAllCurrencies", "sint64"), ("fromcurrency", "string"),
    ("lastMarket", "string"), ("circulatingSupply", "double"),
    ("marketcap", "double"), ("components", "string"),
    ("indices", "repeated string"), ("cmcRank", "sint64"),
    ("underlyingShortname", "string"), ("fiftyTwoWeekChange", "float"),
    ("fiftyTwoWeekChangePercent", "float"), ("latestAmountRaised", "float"),
    ("latestFundingDate", "sint64"), ("latestShareClass", "string"),
    ("latestImpliedValuation", "float"), ("ytdReturn", "float"),
    ("qtdReturn", "float"), ("fullDayChange", "float"),
    ("fullDayChangePercent", "float"),
]

FDP = descriptor_pb2.FieldDescriptorProto
TYPES = {"string": FDP.TYPE_STRING, "float": FDP.TYPE_FLOAT,
         "double": FDP.TYPE_DOUBLE, "sint64": FDP.TYPE_SINT64,
         "int32": FDP.TYPE_INT32}


def pricing_class():
    fdp = descriptor_pb2.FileDescriptorProto(
        name="yahoo_pricing.proto", package="tickpipe.peer", syntax="proto2")
    msg = fdp.message_type.add(name="PricingData")
    for number, (name, kind) in enumerate(FIELDS, start=1):
        repeated = kind.startswith("repeated ")
        kind = kind.split()[-1]
        msg.field.add(name=name, number=number, type=TYPES[kind],
                      label=FDP.LABEL_REPEATED if repeated else FDP.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    desc = pool.FindMessageTypeByName("tickpipe.peer.PricingData")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


BAR_MS = 60000
HEARTBEAT = 7


class Symbol:
    __slots__ = ("n", "sum", "max_time", "last", "vol_prev", "bars")

    def __init__(self):
        self.n = 0
        self.sum = 0.0
        self.max_time = 0
        self.last = None
        self.vol_prev = None
        self.bars = {}  # start -> [open, high, low, close, open_t, close_t, vol, pv, count]


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: peer_protobuf.py FILE OUT [--lateness-ms MS]\n")
        return 2
    lateness = int(argv[4]) if len(argv) >= 5 and argv[3] == "--lateness-ms" else 10000
    Pricing = pricing_class()
    out = sys.stdout if argv[2] == "-" else open(argv[2], "a")
    write = out.write
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    syms = {}
    frames = applied = dups = rejected = skipped = late_n = 0

    def emit_bar(name, start, b):
        vwap = b[7] / b[6] if b[6] > 0 else None
        write(dumps({"kind": "bar", "symbol": name, "interval": "1m", "start": start,
                     "open": b[0], "high": b[1], "low": b[2], "close": b[3],
                     "volume": b[6], "vwap": vwap, "count": b[8]}) + "\n")

    with open(argv[1], "rb") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            frames += 1
            tab = line.find(b"\t")
            if 0 < tab <= 18 and line[:tab].isdigit():
                line = line[tab + 1:]
            try:
                if line.startswith(b"{"):
                    env = json.loads(line)
                    if not isinstance(env, dict) or not isinstance(env.get("type"), str):
                        raise ValueError("bad JSON envelope")
                    if env["type"] != "pricing":
                        skipped += 1
                        continue
                    msg = env.get("message")
                    if not isinstance(msg, str):
                        raise ValueError("bad JSON envelope")
                    line = msg.encode("ascii")
                payload = base64.b64decode(line, validate=True)
                m = Pricing()
                m.ParseFromString(payload)
            except (ValueError, binascii.Error, DecodeError, UnicodeError):
                rejected += 1
                continue
            if m.HasField("quoteType") and m.quoteType == HEARTBEAT:
                skipped += 1
                continue
            if not (m.HasField("id") and m.HasField("time") and m.HasField("price")):
                rejected += 1
                continue
            if (not math.isfinite(m.price) or m.time < TIME_MIN_MS
                    or m.time > time.time() * 1000 + DAY_MS):
                rejected += 1
                continue
            name = m.id
            s = syms.get(name)
            if s is None:
                s = syms[name] = Symbol()
            if s.n > 0 and s.last == payload:
                dups += 1
                continue
            price = m.price
            t = m.time
            start = t // BAR_MS * BAR_MS
            late = s.n > 0 and s.max_time >= start + BAR_MS + lateness
            s.last = payload
            s.n += 1
            s.sum += price
            if s.n == 1 or t > s.max_time:
                s.max_time = t
            applied += 1
            if late:
                late_n += 1
            else:
                inc = 0
                if m.HasField("dayVolume"):
                    v = m.dayVolume
                    if s.vol_prev is not None and s.vol_prev <= v:
                        inc = v - s.vol_prev
                    s.vol_prev = v
                b = s.bars.get(start)
                if b is None:
                    s.bars[start] = [price, price, price, price, t, t, inc, price * inc, 1]
                else:
                    if price > b[1]:
                        b[1] = price
                    if price < b[2]:
                        b[2] = price
                    if t < b[4]:
                        b[4] = t
                        b[0] = price
                    if t >= b[5]:
                        b[5] = t
                        b[3] = price
                    b[6] += inc
                    b[7] += price * inc
                    b[8] += 1
            obj = {"kind": "tick"}
            for fd, value in m.ListFields():
                obj[fd.name] = list(value) if fd.label == FDP.LABEL_REPEATED else value
            obj["seq"] = s.n
            obj["cumAvgPrice"] = s.sum / s.n
            write(dumps(obj) + "\n")
            for bstart in [k for k in s.bars if s.max_time >= k + BAR_MS + lateness]:
                emit_bar(name, bstart, s.bars.pop(bstart))
    for name, s in syms.items():
        for bstart in sorted(s.bars):
            emit_bar(name, bstart, s.bars[bstart])
    if out is not sys.stdout:
        out.close()
    else:
        out.flush()
    sys.stderr.write("peer_protobuf: done frames=%d applied=%d duplicates=%d rejected=%d "
                     "skipped=%d late=%d\n" % (frames, applied, dups, rejected, skipped, late_n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
