// `k6/data`: `new SharedArray(name, fn)`. As in k6, the array is built once and shared:
// the first VU to get here runs `fn` and hands its items to the host as JSON text; every
// VU then reads items one at a time (each read a fresh copy, parsed from that text), so a
// large array is held once, not once per VU.

import { sharedLen, sharedPublish, sharedGet } from 'stampede:scenario/data@0.2.0';

function publish(name, fn) {
  const data = fn();
  if (!Array.isArray(data)) throw new TypeError(`SharedArray ${JSON.stringify(name)}: the function must return an array`);
  try {
    return sharedPublish(name, data.map((x) => JSON.stringify(x) ?? 'null'));
  } catch (e) {
    const p = e && e.payload;
    throw new Error(p && typeof p === 'object' && 'val' in p ? p.val : String(e));
  }
}

export class SharedArray {
  constructor(name, fn) {
    if (typeof name !== 'string' || name === '') throw new TypeError('SharedArray: the first argument must be a name');
    if (typeof fn !== 'function') throw new TypeError(`SharedArray ${JSON.stringify(name)}: the second argument must be a function returning an array`);
    const length = sharedLen(name) ?? publish(name, fn);
    const item = (i) => {
      const text = sharedGet(name, i);
      return text === undefined ? undefined : JSON.parse(text);
    };
    const index = (p) => (typeof p === 'string' && /^(0|[1-9]\d*)$/.test(p) ? Number(p) : -1);
    return new Proxy([], {
      get(target, p) {
        if (p === 'length') return length;
        if (p === Symbol.iterator) {
          return function* () {
            for (let i = 0; i < length; i++) yield item(i);
          };
        }
        const i = index(p);
        if (i >= 0) return i < length ? item(i) : undefined;
        return Reflect.get(target, p);
      },
      has(target, p) {
        const i = index(p);
        return i >= 0 ? i < length : Reflect.has(target, p);
      },
      set() {
        throw new TypeError(`SharedArray ${JSON.stringify(name)} is read-only`);
      },
    });
  }
}

export default { SharedArray };
