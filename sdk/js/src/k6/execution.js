// `k6/execution`: what Stampede knows of the running VU. Fields it cannot give are
// errors that name them, not zeros.

import { id, iteration, scenario as scenarioName } from 'stampede:scenario/vu@0.2.0';

function unsupported(what) {
  return {
    get() {
      throw new Error(`k6/execution: ${what} is not supported by Stampede`);
    },
  };
}

const vu = {};
Object.defineProperties(vu, {
  idInTest: { get: () => id(), enumerable: true },
  idInInstance: { get: () => id(), enumerable: true },
  iterationInInstance: { get: () => Number(iteration()), enumerable: true },
  iterationInScenario: { get: () => Number(iteration()), enumerable: true },
  tags: unsupported('vu.tags'),
  metrics: unsupported('vu.metrics'),
});

// The executor of this VU's scenario, when the script's options.scenarios name it.
let executor;
export function scenarioExecutor(name) {
  executor = name;
}

const scenario = {};
Object.defineProperties(scenario, {
  name: { get: () => scenarioName(), enumerable: true },
  executor: {
    get() {
      if (executor === undefined) throw new Error('k6/execution: scenario.executor is known only for the scenarios of options.scenarios');
      return executor;
    },
    enumerable: true,
  },
  startTime: unsupported('scenario.startTime'),
  progress: unsupported('scenario.progress'),
  iterationInInstance: unsupported('scenario.iterationInInstance'),
  iterationInTest: unsupported('scenario.iterationInTest'),
});

const instance = {};
Object.defineProperties(instance, {
  iterationsCompleted: unsupported('instance.iterationsCompleted'),
  iterationsInterrupted: unsupported('instance.iterationsInterrupted'),
  vusActive: unsupported('instance.vusActive'),
  vusInitialized: unsupported('instance.vusInitialized'),
  currentTestRunDuration: unsupported('instance.currentTestRunDuration'),
});

const test = {
  abort(reason) {
    throw new Error(`k6/execution: test.abort(${reason === undefined ? '' : JSON.stringify(String(reason))}) is not supported by Stampede; use a threshold with abortOnFail`);
  },
};

export { vu, scenario, instance, test };
export default { vu, scenario, instance, test };
