// `k6/metrics`: custom metrics aggregated by the host like the built-in ones. A value
// added with tags also goes to one series per tag, named `metric{key:value}`, which a
// threshold on `metric{key:value}` judges (k6's sub-metrics).

import { counterAdd, trendAdd, rateAdd, gaugeSet } from 'stampede:scenario/metrics@0.2.0';

function named(kind, name) {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) {
    throw new TypeError(`new ${kind}(${JSON.stringify(name)}): a metric name is letters, digits and _ (at most 128)`);
  }
  return name;
}

// The tagged series' names for `tags`, one per tag (the host caps a run's names).
function tagged(name, tags) {
  return Object.entries(tags).map(([k, v]) => `${name}{${k}:${v}}`);
}

export class Counter {
  constructor(name) {
    this.name = named('Counter', name);
  }

  add(value, tags) {
    const v = Number(value);
    counterAdd(this.name, v);
    if (tags) for (const series of tagged(this.name, tags)) counterAdd(series, v);
  }
}

export class Gauge {
  constructor(name) {
    this.name = named('Gauge', name);
  }

  add(value, tags) {
    const v = Number(value);
    gaugeSet(this.name, v);
    if (tags) for (const series of tagged(this.name, tags)) gaugeSet(series, v);
  }
}

export class Rate {
  constructor(name) {
    this.name = named('Rate', name);
  }

  add(value, tags) {
    const v = Boolean(value);
    rateAdd(this.name, v);
    if (tags) for (const series of tagged(this.name, tags)) rateAdd(series, v);
  }
}

export class Trend {
  constructor(name, isTime = false) {
    this.name = named('Trend', name);
    this.isTime = isTime;
  }

  add(value, tags) {
    const v = Number(value);
    trendAdd(this.name, v);
    if (tags) for (const series of tagged(this.name, tags)) trendAdd(series, v);
  }
}

export default { Counter, Gauge, Rate, Trend };
