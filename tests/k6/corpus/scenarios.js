// k6's scenarios: not planned by Stampede yet, said before any load.
import http from 'k6/http';

export const options = {
  scenarios: {
    browse: { executor: 'constant-vus', vus: 2, duration: '5s' },
  },
};

export default function () {
  http.get(`${__ENV.TARGET}/echo/scenarios`);
}
