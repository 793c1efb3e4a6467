// Cutover load test against tests/support/k6_target.py (the IntelGraph stand-in).
//
// Environment (all optional except TARGET):
//   TARGET                  base URL of the target, e.g. http://127.0.0.1:41234
//   CUTOVER_DURATION        duration of every scenario (default 14s). Not K6_DURATION: k6
//                           reads that name as its own `duration` option, which replaces
//                           the scenarios below with a single `default` one.
//   PARAMS_<SCENARIO>       query string for that scenario's path, e.g.
//                           PARAMS_GRAPHQL_READS="base_ms=20&slow_ms=500&slow_from=4&slow_to=8"
//   RATE_<SCENARIO>         requests per second (defaults 40/20/20/40)
//   K6_HANDLE_SUMMARY       where handleSummary writes the summary data object (JSON)
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';

const TARGET = __ENV.TARGET || 'http://127.0.0.1:8080';
const DURATION = __ENV.CUTOVER_DURATION || '14s';
const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

function rate(name, fallback) {
  const raw = __ENV[`RATE_${name.toUpperCase()}`];
  return raw ? parseInt(raw, 10) : fallback;
}

function scenario(name, defaultRate, maxLatencySeconds) {
  const r = rate(name, defaultRate);
  // enough VUs for the slowest request the runs inject, so no iteration is dropped
  const vus = Math.max(5, Math.ceil(r * maxLatencySeconds * 1.5) + 5);
  return {
    executor: 'constant-arrival-rate',
    rate: r,
    timeUnit: '1s',
    duration: DURATION,
    preAllocatedVUs: vus,
    maxVUs: vus * 2,
    exec: name,
    gracefulStop: '5s',
  };
}

export const options = {
  scenarios: {
    graphql_reads: scenario('graphql_reads', 40, 0.5),
    graphql_writes: scenario('graphql_writes', 20, 0.9),
    neo4j_1hop: scenario('neo4j_1hop', 20, 0.3),
    opa_decision: scenario('opa_decision', 40, 0.3),
  },
  thresholds: {
    'http_req_duration{scenario:graphql_reads}': ['p(95)<350'],
    'http_req_duration{scenario:graphql_writes}': ['p(95)<700'],
    'http_req_duration{scenario:neo4j_1hop}': ['p(95)<300'],
    'http_req_duration{scenario:opa_decision}': ['p(95)<25'],
    http_req_failed: ['rate<=0.001'],
    http_req_duration: ['p(99)<1000', 'avg<200'],
  },
  summaryTrendStats: TREND_STATS,
};

function url(name) {
  const params = __ENV[`PARAMS_${name.toUpperCase()}`] || '';
  return `${TARGET}/${name}${params ? `?${params}` : ''}`;
}

function tenant() {
  return exec.scenario.iterationInTest % 2 === 0 ? 'acme' : 'globex';
}

function hit(name, method) {
  const params = { tags: { tenant: tenant() } };
  const res =
    method === 'POST'
      ? http.post(url(name), JSON.stringify({ query: 'mutation { touch }' }), {
          ...params,
          headers: { 'Content-Type': 'application/json' },
        })
      : http.get(url(name), params);
  check(res, { 'status is 200': (r) => r.status === 200 });
}

export function graphql_reads() {
  hit('graphql_reads', 'GET');
}

export function graphql_writes() {
  hit('graphql_writes', 'POST');
}

export function neo4j_1hop() {
  hit('neo4j_1hop', 'GET');
}

export function opa_decision() {
  hit('opa_decision', 'GET');
}

export function handleSummary(data) {
  const out = __ENV.K6_HANDLE_SUMMARY;
  return out ? { [out]: JSON.stringify(data, null, 1) } : {};
}
