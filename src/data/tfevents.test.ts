import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readEventFiles, tfeventsReaderMissing } from '../test-support/tfevents-reader.js';
import { EventFileWriter, crc32c, encodeEvent, maskedCrc32c, metricScalars, tfRecord } from './tfevents.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('CRC32C', () => {
  it('matches the published check values (RFC 3720 B.4, and "123456789")', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });

  it('masks as TFRecord does: rotate right 15, add 0xa282ead8, mod 2³²', () => {
    // crc("123456789") = 0xe3069283; rotated: 0x2507c60d; + 0xa282ead8 = 0xc78ab0e5.
    assert.equal(maskedCrc32c(new TextEncoder().encode('123456789')), 0xc78ab0e5);
  });
});

describe('TFRecord and Event encoding', () => {
  it('frames data as length, masked CRC of the length, data, masked CRC of the data', () => {
    const data = bytes(1, 2, 3);
    const r = tfRecord(data);
    assert.equal(r.length, 8 + 4 + 3 + 4);
    assert.equal(hex(r.subarray(0, 8)), '0300000000000000');
    const view = new DataView(r.buffer);
    assert.equal(view.getUint32(8, true), maskedCrc32c(r.subarray(0, 8)));
    assert.equal(hex(r.subarray(12, 15)), '010203');
    assert.equal(view.getUint32(15, true), maskedCrc32c(data));
  });

  it('writes an Event with one scalar byte for byte as protobuf lays it out', () => {
    // wall_time (1, fixed64) 1.5; step (2, varint) 3;
    // summary (5) { value (1) { tag (1) "a"; simple_value (2, fixed32) 1 } }
    assert.equal(
      hex(encodeEvent(1.5, 3, { scalars: { a: 1 } })),
      '09' + '000000000000f83f' + '1003' + '2a0a' + '0a08' + '0a0161' + '150000803f',
    );
    // A step of 128 or more takes a multi-byte varint: 300 = 0b10_0101100 → ac 02; a session start is 7 { 1: 1 }.
    assert.equal(hex(encodeEvent(0, 300, { sessionStart: true })), '09' + '0000000000000000' + '10ac02' + '3a020801');
    // Step 0 is left out (proto3); the writer's name rides in source_metadata (10).
    assert.equal(
      hex(encodeEvent(0, 0, { fileVersion: 'v', writer: 'w' })),
      '09' + '0000000000000000' + '1a0176' + '5203' + '0a0177',
    );
  });

  it('keeps the numeric fields of a metrics line but its step fields', () => {
    assert.deepEqual(
      metricScalars({ step: 3, iteration: 2, 'train/loss': 1.5, note: 'x', ok: true, n: NaN }, ['step']),
      {
        iteration: 2,
        'train/loss': 1.5,
        n: NaN,
      },
    );
  });
});

describe('EventFileWriter, read back by crcmod and Google protobuf (tests/interop/tfevents_read.py)', () => {
  const skip = tfeventsReaderMissing() ?? false;

  it('writes the file version, a session start, then each line of scalars at its step', { skip }, () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'rlhf-tfevents-')), 'tb');
    const w = new EventFileWriter(dir);
    w.scalars(1, { 'train/loss': 2.5, 'objective/kl': 0.1, 'reward/accuracy': 0.75 });
    w.scalars(2 ** 40 + 3, { 'train/loss': NaN, 'eval/πλ': Infinity, neg: -Infinity, big: 3.4e38 });
    w.close();
    const [name] = readdirSync(dir);
    assert.match(name, new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\.${hostname()}\\.${process.pid}\\.\\d+$`));
    const [file] = readEventFiles(dir);
    const [version, start, first, second] = file.events;
    assert.equal(file.events.length, 4);
    assert.deepEqual([version.file_version, version.writer, version.step], ['brain.Event:2', 'rlhf', 0]);
    assert.ok(Math.abs(version.wall_time - Date.now() / 1000) < 60, `wall_time ${version.wall_time} is now`);
    assert.deepEqual([start.session_status, start.step], ['START', 1]);
    assert.equal(first.step, 1);
    assert.deepEqual(first.values, [
      ['train/loss', 2.5],
      ['objective/kl', Math.fround(0.1)],
      ['reward/accuracy', 0.75],
    ]);
    assert.equal(second.step, 2 ** 40 + 3);
    assert.deepEqual(second.values, [
      ['train/loss', 'NaN'],
      ['eval/πλ', 'Infinity'],
      ['neg', '-Infinity'],
      ['big', Math.fround(3.4e38)],
    ]);
  });

  it('names a second file so that it sorts after the first, even within the same second', { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-tfevents-'));
    const a = new EventFileWriter(dir);
    a.close();
    const b = new EventFileWriter(dir);
    b.scalars(5, { x: 1 });
    b.close();
    assert.deepEqual(
      readdirSync(dir).sort(),
      [a.path, b.path].map((p) => p.slice(dir.length + 1)),
    );
    const files = readEventFiles(dir);
    assert.deepEqual(
      files.map((f) => f.events.length),
      [1, 3],
    );
  });

  it('the reader refuses a corrupted record (so the checks above are real)', { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-tfevents-'));
    const w = new EventFileWriter(dir);
    w.scalars(1, { x: 1 });
    w.close();
    const buf = readFileSync(w.path);
    buf[buf.length - 6] ^= 1; // a bit of the last record's data
    const bad = join(dir, 'bad');
    writeFileSync(bad, buf);
    assert.throws(() => readEventFiles(bad), /data CRC/);
  });
});
