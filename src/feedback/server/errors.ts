// The one error shape of the API, {error: {code, message, field?, reason?}}, and the translation of everything
// that can go wrong (schema violations, store refusals, parser limits) into it. Messages name the
// field and say how to fix the request.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FieldError } from '../../data/field-error.js';
import { describe } from '../../data/formats/fields.js';
import { type ConflictReason, StoreError } from '../store/types.js';

export type ErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'headers_too_large'
  | 'timeout'
  | 'unsupported_media_type'
  | 'not_configured'
  | 'busy'
  | 'generation_failed'
  | 'internal';

export interface ErrorBody {
  /** `reason` says why a submission is a `conflict` (see ConflictReason), for pages that explain it. */
  error: { code: ErrorCode; message: string; field?: string; issues?: unknown[]; reason?: ConflictReason };
}

/** An error a handler throws on purpose; the error handler sends it as is. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: { field?: string; issues?: unknown[] } = {},
  ) {
    super(message);
  }
}

const STORE_STATUS: Record<StoreError['code'], [number, ErrorCode]> = {
  not_found: [404, 'not_found'],
  conflict: [409, 'conflict'],
  forbidden: [403, 'forbidden'],
  busy: [503, 'busy'],
};

/** Seconds a client should wait before retrying a 503 busy from the store (the pages retry 503s). */
export const BUSY_RETRY_AFTER = 1;

/** The subset of an ajv error (with `verbose: true`) that the messages use. */
interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
  schema?: unknown;
  parentSchema?: { description?: string; properties?: Record<string, { description?: string }>; type?: string };
}

/** "/settings/axes/0" → "settings.axes[0]". */
export function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** One schema violation as {field, message}; the message says what was wrong and what is expected. */
export function describeSchemaError(e: AjvError, where: string): { field: string; message: string } {
  const hint = (d?: string) => (d ? ` (${d})` : '');
  const p = e.params;
  switch (e.keyword) {
    case 'required': {
      const name = String(p.missingProperty);
      return {
        field: fieldPath(e.instancePath, name),
        message: `missing${hint(e.parentSchema?.properties?.[name]?.description)}`,
      };
    }
    case 'additionalProperties': {
      const name = String(p.additionalProperty);
      const allowed = Object.keys(e.parentSchema?.properties ?? {});
      return {
        field: fieldPath(e.instancePath, name),
        message: `unknown field; remove it (allowed: ${allowed.join(', ') || 'none'})`,
      };
    }
  }
  const field = fieldPath(e.instancePath) || where;
  const got = e.data === undefined ? '' : `, got ${describe(e.data)}`;
  const d = hint(e.parentSchema?.description);
  switch (e.keyword) {
    case 'type':
      return { field, message: `must be ${article(String(p.type))}${got}${d}` };
    case 'minimum':
      return { field, message: `must be ≥ ${p.limit}${got}${d}` };
    case 'maximum':
      return { field, message: `must be ≤ ${p.limit}${got}${d}` };
    case 'enum':
      return {
        field,
        message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${got}`,
      };
    case 'const':
      return { field, message: `must be ${JSON.stringify(p.allowedValue)}${got}` };
    case 'minLength':
      return { field, message: `is too short: at least ${p.limit} characters${d}` };
    case 'maxLength':
      return { field, message: `is too long: at most ${p.limit} characters${d}` };
    case 'minItems':
      return { field, message: `needs at least ${p.limit} entries${got}${d}` };
    case 'maxItems':
      return { field, message: `takes at most ${p.limit} entries${got}${d}` };
    case 'uniqueItems':
      return { field, message: `entries ${p.j} and ${p.i} are the same; list each once` };
    case 'pattern':
      return { field, message: `has the wrong form${got}${d}` };
    case 'propertyNames':
      return { field, message: `has a bad key ${JSON.stringify(p.propertyName)}${d}` };
    default:
      return { field, message: `${e.message ?? 'is invalid'}${d}` };
  }
}

const article = (t: string) => (t === 'integer' || t === 'object' || t === 'array' ? `an ${t}` : `a ${t}`);

function send(
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  message: string,
  extra: { field?: string; issues?: unknown[]; reason?: ConflictReason } = {},
): FastifyReply {
  const body: ErrorBody = { error: { code, message, ...extra } };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Fastify's error handler: every error leaves as {error: {code, message, field?}}. */
export function handleError(
  err: Omit<FastifyError, 'validation'> & { validation?: AjvError[]; validationContext?: string },
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (err instanceof ApiError) return send(reply, err.status, err.code, err.message, err.extra);
  if (err instanceof FieldError)
    return send(reply, 400, 'bad_request', `field "${err.field}": ${err.message}`, { field: err.field });
  if (err instanceof StoreError) {
    const [status, code] = STORE_STATUS[err.code];
    if (err.code === 'busy') reply.header('Retry-After', String(BUSY_RETRY_AFTER));
    return send(reply, status, code, err.message, err.reason ? { reason: err.reason } : {});
  }
  if (err.validation?.length) {
    const where = String(err.validationContext ?? 'body');
    const { field, message } = describeSchemaError(err.validation[0], where);
    const label = where === 'querystring' ? 'query parameter' : 'field';
    return send(reply, 400, 'bad_request', `${label} "${field}": ${message}`, { field });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = request.routeOptions.bodyLimit;
      return send(
        reply,
        413,
        'payload_too_large',
        `the request body is larger than this route's limit of ${formatBytes(limit)}; send less (split a large ` +
          `import into several files)`,
      );
    }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return send(
        reply,
        400,
        'invalid_json',
        `the body is not valid JSON (${err.message}); send one JSON object with Content-Type: application/json`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return send(reply, 400, 'invalid_json', 'the body is empty; send a JSON object (at least {})');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return send(
        reply,
        415,
        'unsupported_media_type',
        `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted; send JSON with ` +
          `Content-Type: application/json`,
      );
  }
  // secure-json-parse refuses __proto__ keys and bad JSON with a SyntaxError and statusCode 400.
  if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON|prototype/i.test(err.message))) {
    return send(
      reply,
      400,
      'invalid_json',
      `the body is not valid JSON (${err.message}); send one JSON object with Content-Type: application/json`,
    );
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
    return send(reply, err.statusCode, 'bad_request', err.message);
  request.log.error(err);
  process.stderr.write(`rlhf serve: ${request.method} ${request.url}: ${err.stack ?? err.message}\n`);
  return send(reply, 500, 'internal', 'internal error; the server log has the details');
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

/**
 * Node's HTTP parser refuses some requests before fastify sees them (headers over 16 KB, a malformed
 * request line, a client too slow to send its headers): answered here in the usual error shape and
 * with the same headers as every other response (`headers`: the security headers).
 */
export function clientErrorHandler(headers: Record<string, string>) {
  return (err: Error & { code?: string }, socket: import('node:net').Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, reason, code, message]: [number, string, ErrorCode, string] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [
            431,
            'Request Header Fields Too Large',
            'headers_too_large',
            'the request headers are over 16 KB; send fewer or shorter headers (cookies?)',
          ]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'timeout', 'the request took too long to arrive; send it again']
          : [400, 'Bad Request', 'bad_request', 'the request is not valid HTTP/1.1'];
    const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
    const head = {
      ...headers,
      'Cache-Control': 'no-store',
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      Connection: 'close',
    };
    if (socket.writable)
      socket.write(
        `HTTP/1.1 ${status} ${reason}\r\n${Object.entries(head)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}\r\n${body}`,
      );
    socket.destroy(err);
  };
}
