// igkit synthetic user journeys (seed §12): one k6 script for any service.
//
// Everything service-specific comes from the JSON file named by IGKIT_JOURNEYS_CONFIG, which
// igkit writes from the matrix's `journeys` objective: base URL, VUs, duration, and the steps
// (method, path, JSON body, headers, expected status and JSON keys, the p95 threshold).
// The password is never in that file: the script reads it from the environment variable the
// config names (password_env), and substitutes it for {{password}} in request bodies.
//
// Every request is tagged step:<name>; every step has two checks, tagged the same way:
//   "<step>: status <code>"    the response status
//   "<step>: JSON shape"       a JSON object with every expect_json key, no refuse_json key
// The thresholds below exist so that k6's end-of-test summary carries the per-step
// submetrics igkit judges (http_req_duration / http_reqs / checks {step:<name>}); igkit
// decides from those figures, not from k6's exit code.
import http from 'k6/http';
import { check } from 'k6';

const CONFIG = JSON.parse(open(__ENV.IGKIT_JOURNEYS_CONFIG));
const PASSWORD = __ENV[CONFIG.password_env] || '';

function thresholds() {
  const out = {};
  for (const step of CONFIG.steps) {
    out[`http_req_duration{step:${step.name}}`] = [`p(95)<=${step.p95_ms}`];
    out[`http_reqs{step:${step.name}}`] = ['count>=1'];
    out[`checks{step:${step.name}}`] = ['rate==1'];
  }
  return out;
}

export const options = {
  vus: CONFIG.vus,
  duration: CONFIG.duration,
  thresholds: thresholds(),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
  insecureSkipTLSVerify: false,
  noConnectionReuse: false,
};

function fill(value) {
  if (typeof value === 'string') {
    return value.split('{{username}}').join(CONFIG.username).split('{{password}}').join(PASSWORD);
  }
  if (Array.isArray(value)) {
    return value.map(fill);
  }
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value)) {
      out[key] = fill(value[key]);
    }
    return out;
  }
  return value;
}

function parsed(res) {
  try {
    const body = res.json();
    return body !== null && typeof body === 'object' && !Array.isArray(body) ? body : null;
  } catch (e) {
    return null;
  }
}

function shapeOk(body, step) {
  if (body === null) {
    return false;
  }
  for (const key of step.expect_json) {
    if (body[key] === undefined || body[key] === null) {
      return false;
    }
  }
  for (const key of step.refuse_json) {
    if (body[key] !== undefined) {
      return false;
    }
  }
  return true;
}

export default function () {
  let token = null;
  for (const step of CONFIG.steps) {
    const headers = Object.assign({ 'Content-Type': 'application/json' }, step.headers);
    if (step.auth && token !== null) {
      headers[CONFIG.auth_header] = CONFIG.auth_scheme ? `${CONFIG.auth_scheme} ${token}` : token;
    }
    const tags = { step: step.name, name: step.name };
    const body = step.body === null ? null : JSON.stringify(fill(step.body));
    const res = http.request(step.method, `${CONFIG.base_url}${step.path}`, body, {
      headers: headers,
      tags: tags,
      timeout: CONFIG.timeout,
    });
    const json = parsed(res);
    check(
      res,
      {
        [`${step.name}: status ${step.expect_status}`]: (r) => r.status === step.expect_status,
        [`${step.name}: JSON shape`]: () => shapeOk(json, step),
      },
      tags,
    );
    if (step.token_from !== null) {
      const value = json === null ? null : json[step.token_from];
      token = typeof value === 'string' && value !== '' ? value : null;
    }
  }
}

export function handleSummary(data) {
  return { [CONFIG.summary]: JSON.stringify(data) };
}
