// A VU that makes garbage without pause (a 256 KiB buffer per iteration): SpiderMonkey
// collects only once its heap has grown by tens of MiB, which a JavaScript VU's
// default memory cap leaves room for.
import { check } from 'k6';

const text = 'x'.repeat(256 * 1024);
const encoder = new TextEncoder();

export default function () {
  const bytes = encoder.encode(text);
  check(bytes, { encoded: (b) => b.length === text.length });
}
