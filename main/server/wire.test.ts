import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  WireFormatError,
  base64ToBytes,
  bytesToBase64,
  decodeValue,
  encodeMessage,
  encodeValue,
  parseRequest,
  parseServerMessage,
} from './wire.ts';

/** JSON-like values with Uint8Arrays anywhere inside. */
const wireValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
    fc.string(),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string().filter((k) => k !== '$bytes'), tie('value'), { maxKeys: 5 }),
  ),
})).value;

describe('base64', () => {
  it('matches Node’s Buffer encoding both ways', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const text = bytesToBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(base64ToBytes(text)).toEqual(bytes);
      }),
    );
  });

  it('handles a megabyte-sized upload', () => {
    const bytes = new Uint8Array(1_000_003).map((_, i) => (i * 31) % 256);
    const text = bytesToBase64(bytes);
    expect(text === Buffer.from(bytes).toString('base64')).toBe(true);
    expect(Buffer.from(base64ToBytes(text)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('refuses malformed base64', () => {
    for (const bad of ['abc', 'ab=c', '====', 'a!bc', 'ab\u00e9c', 'a===']) {
      expect(() => base64ToBytes(bad), bad).toThrow(TypeError);
    }
  });
});

describe('value encoding', () => {
  it('round-trips nested values with Uint8Arrays through JSON', () => {
    fc.assert(
      fc.property(wireValue, (value) => {
        const back = decodeValue(JSON.parse(JSON.stringify(encodeValue(value))));
        expect(back).toEqual(value);
      }),
    );
  });

  it('encodes a nested Uint8Array as { $bytes } and decodes it back to a Uint8Array', () => {
    const value = { files: [{ name: 'a.png', bytes: new Uint8Array([137, 80, 78, 71]) }] };
    const json = JSON.stringify(encodeValue(value));
    expect(json).toBe('{"files":[{"name":"a.png","bytes":{"$bytes":"iVBORw=="}}]}');
    const back = decodeValue(JSON.parse(json)) as typeof value;
    expect(back.files[0].bytes).toBeInstanceOf(Uint8Array);
    expect(Array.from(back.files[0].bytes)).toEqual([137, 80, 78, 71]);
  });

  it('turns other typed arrays into number arrays and refuses what JSON would mangle', () => {
    expect(encodeValue({ p: new Float32Array([0.5, 1]) })).toEqual({ p: [0.5, 1] });
    expect(() => encodeValue({ n: 1n })).toThrow(TypeError);
    expect(() => encodeValue({ $bytes: 'x' })).toThrow(/\$bytes/);
  });

  it('keeps a __proto__ key as data, never as a prototype', () => {
    const decoded = decodeValue(JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect((decoded as { polluted?: boolean }).polluted).toBeUndefined();
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('messages', () => {
  it('parses a request and decodes its bytes', () => {
    const text = encodeMessage({ id: 3, method: 'predictImages', payload: { files: [{ name: 'x', bytes: new Uint8Array([1, 2]) }] } });
    expect(parseRequest(text)).toEqual({ id: 3, method: 'predictImages', payload: { files: [{ name: 'x', bytes: new Uint8Array([1, 2]) }] } });
  });

  it('refuses malformed requests with readable reasons, keeping the id when it is readable', () => {
    expect(() => parseRequest('nope')).toThrow('message is not valid JSON');
    expect(() => parseRequest('[1]')).toThrow(/JSON object/);
    expect(() => parseRequest('{"method":"listRuns"}')).toThrow(/id/);
    expect(() => parseRequest('{"id":1.5,"method":"listRuns"}')).toThrow(/id/);
    try {
      parseRequest('{"id":9,"method":7}');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WireFormatError);
      expect((error as WireFormatError).requestId).toBe(9);
    }
  });

  it('parses replies, errors and pushes from the server', () => {
    expect(parseServerMessage(encodeMessage({ id: 1, result: { pixels: new Uint8Array([9]) } }))).toEqual({
      id: 1,
      result: { pixels: new Uint8Array([9]) },
    });
    expect(parseServerMessage('{"id":2,"error":{"message":"boom","code":"x","extra":1}}')).toEqual({
      id: 2,
      error: { message: 'boom', code: 'x' },
    });
    expect(parseServerMessage('{"event":"training","payload":{"type":"checkpoint","step":1}}')).toEqual({
      event: 'training',
      payload: { type: 'checkpoint', step: 1 },
    });
    expect(() => parseServerMessage('{"id":2,"error":"boom"}')).toThrow(/message/);
  });
});
