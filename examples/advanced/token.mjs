// @ts-check
// Prints a token for the advanced example: `node --env-file=examples/advanced/example.env
// examples/advanced/token.mjs alice acme [admin]` (user, tenant, roles), valid for an hour.
// Your application issues these in real life; this is what it would sign (HS256, JWT_SECRET_KEY).
import { createHmac } from 'node:crypto';

const [user = 'alice', tenant = 'acme', ...roles] = process.argv.slice(2);
const secret = process.env.JWT_SECRET_KEY;
if (!secret) throw new Error('set JWT_SECRET_KEY, e.g. with --env-file=examples/advanced/example.env');

const now = Math.floor(Date.now() / 1000);
const claims = { sub: user, tenant_id: tenant, roles, info: { name: user }, iat: now, exp: now + 3600 };
const part = (/** @type {object} */ json) => Buffer.from(JSON.stringify(json)).toString('base64url');
const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
console.log(`${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`);
