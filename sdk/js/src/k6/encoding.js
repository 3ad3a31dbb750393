// `k6/encoding`: base64 of strings and ArrayBuffers ("std", "rawstd", "url", "rawurl").

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function bytesOf(v) {
  if (typeof v === 'string') return encoder.encode(v);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError('b64encode: give a string or an ArrayBuffer');
}

export function b64encode(input, encoding = 'std') {
  const b = bytesOf(input);
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    out += STD[(n >> 18) & 63] + STD[(n >> 12) & 63];
    out += i + 1 < b.length ? STD[(n >> 6) & 63] : '=';
    out += i + 2 < b.length ? STD[n & 63] : '=';
  }
  if (encoding === 'url' || encoding === 'rawurl') out = out.replace(/\+/g, '-').replace(/\//g, '_');
  if (encoding === 'rawstd' || encoding === 'rawurl') out = out.replace(/=+$/, '');
  return out;
}

export function b64decode(input, encoding = 'std', format) {
  const s = String(input).replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (const ch of s) {
    const v = STD.indexOf(ch);
    if (v < 0) throw new TypeError(`b64decode: invalid base64 (${encoding})`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  const bytes = out.subarray(0, at);
  return format === 's' ? decoder.decode(bytes) : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

export default { b64encode, b64decode };
