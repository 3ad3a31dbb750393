// `k6/metrics`: custom metrics aggregated by the host like the built-in ones. Tags
// passed to `add` are not kept yet: each metric is one series.

import { counterAdd, trendAdd, rateAdd, gaugeSet } from 'stampede:scenario/metrics@0.2.0';

function named(kind, name) {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) {
    throw new TypeError(`new ${kind}(${JSON.stringify(name)}): a metric name is letters, digits and _ (at most 128)`);
  }
  return name;
}

export class Counter {
  constructor(name) {
    this.name = named('Counter', name);
  }

  add(value) {
    counterAdd(this.name, Number(value));
  }
}

export class Gauge {
  constructor(name) {
    this.name = named('Gauge', name);
  }

  add(value) {
    gaugeSet(this.name, Number(value));
  }
}

export class Rate {
  constructor(name) {
    this.name = named('Rate', name);
  }

  add(value) {
    rateAdd(this.name, Boolean(value));
  }
}

export class Trend {
  constructor(name, isTime = false) {
    this.name = named('Trend', name);
    this.isTime = isTime;
  }

  add(value) {
    trendAdd(this.name, Number(value));
  }
}

export default { Counter, Gauge, Rate, Trend };
