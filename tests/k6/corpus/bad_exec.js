// A scenario whose `exec` names a function the script does not export: said before any
// load, as k6 does.
import http from 'k6/http';

export const options = {
  scenarios: { s: { executor: 'shared-iterations', exec: 'nope' } },
};

export default function () {
  http.get(`${__ENV.TARGET}/echo/default`);
}
