// `k6/crypto`: k6's hashes, HMAC and random bytes, on @noble/hashes (audited, pure JS).
// Inputs are strings (as UTF-8) or ArrayBuffers; outputs are encoded as k6 names them.

import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { md5 as nobleMd5, ripemd160 as nobleRipemd160, sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import {
  sha224 as nobleSha224,
  sha256 as nobleSha256,
  sha384 as nobleSha384,
  sha512 as nobleSha512,
  sha512_224 as nobleSha512_224,
  sha512_256 as nobleSha512_256,
} from '@noble/hashes/sha2.js';
import { b64encode } from './encoding.js';

const encoder = new TextEncoder();

const ALGORITHMS = {
  md5: nobleMd5,
  sha1: nobleSha1,
  sha224: nobleSha224,
  sha256: nobleSha256,
  sha384: nobleSha384,
  sha512: nobleSha512,
  sha512_224: nobleSha512_224,
  sha512_256: nobleSha512_256,
  ripemd160: nobleRipemd160,
};

function algorithm(name) {
  const h = ALGORITHMS[String(name).toLowerCase().replace('-', '_')];
  if (!h) {
    throw new Error(`k6/crypto: ${JSON.stringify(name)} is not supported by Stampede (supported: ${Object.keys(ALGORITHMS).join(', ')})`);
  }
  return h;
}

function bytesOf(v, what) {
  if (typeof v === 'string') return encoder.encode(v);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`k6/crypto: ${what} must be a string or an ArrayBuffer`);
}

function hex(b) {
  let out = '';
  for (const x of b) out += (x < 16 ? '0' : '') + x.toString(16);
  return out;
}

function encode(digest, encoding) {
  switch (encoding ?? 'binary') {
    case 'hex':
      return hex(digest);
    case 'base64':
      return b64encode(digest, 'std');
    case 'base64url':
      return b64encode(digest, 'url');
    case 'base64rawurl':
      return b64encode(digest, 'rawurl');
    case 'binary':
      return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength);
    default:
      throw new Error(`k6/crypto: output encoding ${JSON.stringify(encoding)} is not one of hex, base64, base64url, base64rawurl, binary`);
  }
}

/** k6's Hasher: `update(input)` as often as needed, then `digest(encoding)`. */
class Hasher {
  constructor(h) {
    this._h = h;
  }

  update(input) {
    this._h.update(bytesOf(input, 'input'));
  }

  digest(encoding) {
    return encode(this._h.digest(), encoding);
  }
}

export function createHash(name) {
  return new Hasher(algorithm(name).create());
}

export function createHMAC(name, secret) {
  return new Hasher(nobleHmac.create(algorithm(name), bytesOf(secret, 'secret')));
}

export function hmac(name, secret, data, encoding) {
  return encode(nobleHmac(algorithm(name), bytesOf(secret, 'secret'), bytesOf(data, 'data')), encoding);
}

const hashFn = (name) => (input, encoding) => encode(ALGORITHMS[name](bytesOf(input, 'input')), encoding);

export const md5 = hashFn('md5');
export const sha1 = hashFn('sha1');
export const sha256 = hashFn('sha256');
export const sha384 = hashFn('sha384');
export const sha512 = hashFn('sha512');
export const sha512_224 = hashFn('sha512_224');
export const sha512_256 = hashFn('sha512_256');
export const ripemd160 = hashFn('ripemd160');

export function md4() {
  throw new Error('k6/crypto: md4 is not supported by Stampede (a broken hash no library here offers); use sha256');
}

/** `randomBytes(n)`: an ArrayBuffer of n random bytes (the engine's source). */
export function randomBytes(size) {
  const n = Number(size);
  if (!Number.isInteger(n) || n < 0 || n > 1 << 20) throw new RangeError('k6/crypto: randomBytes(size) takes 0 to 1 MiB');
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return b.buffer;
}

export default {
  createHash,
  createHMAC,
  hmac,
  md4,
  md5,
  sha1,
  sha256,
  sha384,
  sha512,
  sha512_224,
  sha512_256,
  ripemd160,
  randomBytes,
};
