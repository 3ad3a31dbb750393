// `k6/experimental/tracing`: `instrumentHTTP({ propagator: 'w3c' })` puts a W3C
// `traceparent` on every k6/http request of the VU, as k6 does (a trace per request,
// sampled with `sampling`); the run's `--trace-context` gives the same for any script.

import { instrument } from './http.js';

export function instrumentHTTP(options = {}) {
  const propagator = options.propagator ?? 'w3c';
  if (propagator !== 'w3c') {
    throw new Error(`instrumentHTTP: propagator ${JSON.stringify(propagator)} is not supported by Stampede: only w3c`);
  }
  const sampling = options.sampling ?? 1;
  if (typeof sampling !== 'number' || !(sampling >= 0 && sampling <= 1)) {
    throw new Error('instrumentHTTP: sampling is a number from 0 to 1');
  }
  instrument(sampling);
}

export default { instrumentHTTP };
