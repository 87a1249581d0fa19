"""Protobuf wire primitives for building PricingData frames in Python tests
(shared by ws_testlib.py and kafka_harness.py). Not a test itself."""
import struct


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(v):
    return ((v << 1) ^ (v >> 63)) & 0xFFFFFFFFFFFFFFFF


def tag(field, wire):
    return varint((field << 3) | wire)


def string(field, s):
    b = s.encode()
    return tag(field, 2) + varint(len(b)) + b


def float32(field, x):
    return tag(field, 5) + struct.pack("<f", x)


def sint(field, v):
    return tag(field, 0) + varint(zigzag(v))


def enum(field, v):
    return tag(field, 0) + varint(v)
