#!/usr/bin/env python3
"""Reads TensorBoard event files with readers nobody here wrote, for tfevents.test.ts.

The framing is checked with crcmod's CRC-32C (Debian python3-crcmod) and each record is parsed by
Google's protobuf runtime (Debian python3-protobuf) against a schema declared here with the field
names, numbers and types of TensorBoard's event.proto and summary.proto. Parsing is strict: a record
must serialize back to the very bytes read, so no field the schema does not know can hide in it.

Usage: tfevents_read.py FILE_OR_DIR...   (a directory: its events.out.tfevents.* files in name order)
Prints one JSON object: {"files": [{"path", "events": [{"wall_time", "step", "file_version"?,
"writer"?, "session_status"?, "values"?: [[tag, value]]}]}]}; non-finite values as "NaN",
"Infinity", "-Infinity". Exits 1 naming the file and offset of the first bad record.
"""

import json
import math
import os
import struct
import sys

import crcmod.predefined
from google.protobuf import descriptor_pb2, descriptor_pool

try:
    from google.protobuf.message_factory import GetMessageClass
except ImportError:  # protobuf < 4.22
    from google.protobuf import message_factory

    def GetMessageClass(desc):
        return message_factory.MessageFactory(desc.file.pool).GetPrototype(desc)


crc32c = crcmod.predefined.mkCrcFun("crc-32c")


def masked(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


F = descriptor_pb2.FieldDescriptorProto


def event_class():
    f = descriptor_pb2.FileDescriptorProto(name="rlhf_tfevents_check.proto", package="tensorboard", syntax="proto3")

    def field(m, name, number, type_, label=F.LABEL_OPTIONAL, type_name=None, oneof=None):
        fd = m.field.add(name=name, number=number, type=type_, label=label)
        if type_name:
            fd.type_name = type_name
        if oneof is not None:
            fd.oneof_index = oneof

    summary = f.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    field(value, "tag", 1, F.TYPE_STRING)
    field(value, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
    field(summary, "value", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".tensorboard.Summary.Value")

    session = f.message_type.add(name="SessionLog")
    status = session.enum_type.add(name="SessionStatus")
    for name, number in [("STATUS_UNSPECIFIED", 0), ("START", 1), ("STOP", 2), ("CHECKPOINT", 3)]:
        status.value.add(name=name, number=number)
    field(session, "status", 1, F.TYPE_ENUM, type_name=".tensorboard.SessionLog.SessionStatus")
    field(session, "checkpoint_path", 2, F.TYPE_STRING)
    field(session, "msg", 3, F.TYPE_STRING)

    source = f.message_type.add(name="SourceMetadata")
    field(source, "writer", 1, F.TYPE_STRING)

    event = f.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    field(event, "wall_time", 1, F.TYPE_DOUBLE)
    field(event, "step", 2, F.TYPE_INT64)
    field(event, "file_version", 3, F.TYPE_STRING, oneof=0)
    field(event, "graph_def", 4, F.TYPE_BYTES, oneof=0)
    field(event, "summary", 5, F.TYPE_MESSAGE, type_name=".tensorboard.Summary", oneof=0)
    field(event, "session_log", 7, F.TYPE_MESSAGE, type_name=".tensorboard.SessionLog", oneof=0)
    field(event, "source_metadata", 10, F.TYPE_MESSAGE, type_name=".tensorboard.SourceMetadata")

    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return GetMessageClass(pool.FindMessageTypeByName("tensorboard.Event"))


Event = event_class()


def number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def fail(path, offset, why):
    sys.stderr.write(f"{path}: record at byte {offset}: {why}\n")
    sys.exit(1)


def read_file(path):
    data = open(path, "rb").read()
    events, pos = [], 0
    while pos < len(data):
        if len(data) - pos < 12:
            fail(path, pos, f"{len(data) - pos} trailing bytes, not a record header")
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8 : pos + 12])
        if length_crc != masked(header):
            fail(path, pos, f"length CRC {length_crc:#x}, expected {masked(header):#x}")
        end = pos + 12 + length
        if end + 4 > len(data):
            fail(path, pos, f"length {length} runs past the end of the file")
        payload = data[pos + 12 : end]
        (data_crc,) = struct.unpack("<I", data[end : end + 4])
        if data_crc != masked(payload):
            fail(path, pos, f"data CRC {data_crc:#x}, expected {masked(payload):#x}")
        e = Event()
        e.ParseFromString(payload)
        if e.SerializeToString(deterministic=True) != payload:
            fail(path, pos, "the Event does not serialize back to the same bytes (unknown or misplaced fields)")
        out = {"wall_time": e.wall_time, "step": e.step}
        what = e.WhichOneof("what")
        if what == "file_version":
            out["file_version"] = e.file_version
        elif what == "summary":
            out["values"] = [[v.tag, number(v.simple_value)] for v in e.summary.value]
        elif what == "session_log":
            out["session_status"] = Event.DESCRIPTOR.fields_by_name["session_log"].message_type.enum_types_by_name[
                "SessionStatus"
            ].values_by_number[e.session_log.status].name
        if e.HasField("source_metadata"):
            out["writer"] = e.source_metadata.writer
        events.append(out)
        pos = end + 4
    return {"path": path, "events": events}


def main():
    paths = []
    for arg in sys.argv[1:]:
        if os.path.isdir(arg):
            names = sorted(n for n in os.listdir(arg) if n.startswith("events.out.tfevents."))
            paths += [os.path.join(arg, n) for n in names]
        else:
            paths.append(arg)
    print(json.dumps({"files": [read_file(p) for p in paths]}))


main()
