// `k6/data`: `new SharedArray(name, fn)`. k6 builds the array once and shares it; here
// each VU runs `fn` once when its script starts and keeps a frozen copy.

export class SharedArray {
  constructor(name, fn) {
    if (typeof fn !== 'function') throw new TypeError(`SharedArray ${JSON.stringify(name)}: the second argument must be a function returning an array`);
    const data = fn();
    if (!Array.isArray(data)) throw new TypeError(`SharedArray ${JSON.stringify(name)}: the function must return an array`);
    return Object.freeze(data);
  }
}

export default { SharedArray };
