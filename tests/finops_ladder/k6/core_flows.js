// Core flows for `igkit finops verify-tier --k6-script` tests: TARGET is the stand-in of
// tests/support/k6_target.py; FAIL_EVERY=n makes every n-th request a 500.
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  vus: 1,
  iterations: 8,
  thresholds: { checks: ['rate==1'] },
};

export default function () {
  const res = http.get(`${__ENV.TARGET}/graphql?fail_every=${__ENV.FAIL_EVERY || 0}`);
  check(res, {
    'status 200': (r) => r.status === 200,
    'tier given': () => __ENV.IGKIT_TIER === __ENV.EXPECT_TIER,
  });
}
