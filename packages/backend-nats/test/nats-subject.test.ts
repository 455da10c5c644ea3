import { describe, expect, it } from 'vitest';
import { decodeToken, encodeToken, MAX_TOKEN_LENGTH, subjectToTopic, topicToSubject } from '../src/index';

const P = 'dotmac-ws';
/** A NATS subject token that cannot route anywhere else: no separator, wildcard, `$` or space. */
const SAFE_TOKEN = /^[A-Za-z0-9_-]+$/;

/** Every character a channel name may hold, one name each, plus the tricky combinations. */
const NAMES = [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:@/='.split(''),
  'a.b',
  'a..b',
  '.',
  '..',
  'a.*',
  'a.>',
  '>',
  '*',
  '$SYS.>',
  'tenant:acme:news',
  'x'.repeat(200),
  ':'.repeat(200),
  '_2E',
  '_',
  '__',
];

describe('topicToSubject', () => {
  it('lays out each kind of topic, the tenant in a token of its own', () => {
    expect(topicToSubject(P, 'broadcast')).toBe('dotmac-ws.all');
    expect(topicToSubject(P, 'channel:news')).toBe('dotmac-ws.chan.g.news');
    expect(topicToSubject(P, 'channel:tenant:acme:news')).toBe('dotmac-ws.chan.t.acme.news');
    expect(topicToSubject(P, 'channel:tenant:ac.me:a.b')).toBe('dotmac-ws.chan.t.ac_2Eme.a_2Eb');
    expect(topicToSubject(P, 'user:u.1')).toBe('dotmac-ws.user.u_2E1');
    expect(topicToSubject(P, 'tenant:acme')).toBe('dotmac-ws.tenant.acme');
    expect(topicToSubject(P, 'idem')).toBe('dotmac-ws.raw.idem');
    expect(topicToSubject('a.b', 'channel:x')).toBe('a.b.chan.g.x');
  });

  it('never lets a separator, wildcard, $ or whitespace of a name into the subject', () => {
    const topics = [
      ...NAMES.map((n) => `channel:${n}`),
      ...NAMES.map((n) => `channel:tenant:acme:${n}`),
      ...NAMES.map((n) => `user:${n}`),
      ...NAMES.map((n) => `tenant:${n}`),
      'user:with space',
      'user:tab\there',
      'user:ünïcödé ✓',
      'user:',
    ];
    for (const topic of topics) {
      const subject = topicToSubject(P, topic);
      const tokens = subject.split('.');
      expect(tokens.slice(0, 1)).toEqual(['dotmac-ws']);
      for (const t of tokens)
        expect({ topic, t, safe: SAFE_TOKEN.test(t) }).toEqual({ topic, t, safe: true });
      expect(subjectToTopic(P, subject)).toBe(topic);
    }
  });

  it('gives distinct topics distinct subjects (case kept, no folding)', () => {
    const topics = new Set<string>();
    for (const a of NAMES) {
      topics.add(`channel:${a}`);
      topics.add(`channel:tenant:acme:${a}`);
      topics.add(`channel:tenant:${a}:x`);
      topics.add(`user:${a}`);
      topics.add(`tenant:${a}`);
      for (const b of ['A', 'a', '.', '_', ':', '-']) topics.add(`channel:${a}${b}`);
    }
    topics.add('broadcast');
    topics.add('channel:broadcast');
    topics.add('raw');
    const subjects = new Set([...topics].map((t) => topicToSubject(P, t)));
    expect(subjects.size).toBe(topics.size);
  });

  it('keeps a tenant channel and a global channel spelled alike apart', () => {
    // With tenant isolation off, a client may name a channel `tenant:acme:news` itself; it still
    // maps to exactly one subject, and decoding tells which topic it was.
    const subject = topicToSubject(P, 'channel:tenant:acme:news');
    expect(subjectToTopic(P, subject)).toBe('channel:tenant:acme:news');
    expect(subjectToTopic(P, 'dotmac-ws.chan.g.tenant_3Aacme_3Anews')).toBeNull();
    expect(topicToSubject(P, 'channel:tenant:acme:')).toBe('dotmac-ws.chan.g.tenant_3Aacme_3A');
  });

  it('hashes a piece too long for one token, and a piece that is not UTF-16', () => {
    const long = 'ü'.repeat(200); // 400 UTF-8 bytes, 1200 encoded characters
    const token = encodeToken(long);
    expect(token).toMatch(/^_H[0-9a-f]{64}$/);
    expect(encodeToken(`${long}x`)).not.toBe(token);
    expect(decodeToken(token)).toBeNull();
    // The longest channel name, all escaped, is still spelled out.
    expect(encodeToken(':'.repeat(200))).toBe('_3A'.repeat(200));
    expect(encodeToken('x'.repeat(MAX_TOKEN_LENGTH))).toBe('x'.repeat(MAX_TOKEN_LENGTH));
    expect(encodeToken('x'.repeat(MAX_TOKEN_LENGTH + 1))).toMatch(/^_H[0-9a-f]{64}$/);
    expect(encodeToken('\uD800')).toMatch(/^_H[0-9a-f]{64}$/);
    expect(encodeToken('\uD800')).not.toBe(encodeToken('\uFFFD'));
    expect(encodeToken('\uD801')).not.toBe(encodeToken('\uD800'));
  });
});

describe('encodeToken / decodeToken', () => {
  it('escapes every byte outside A-Z a-z 0-9 - as _HH, and the empty string as _', () => {
    expect(encodeToken('a.b*c>d$e_f')).toBe('a_2Eb_2Ac_3Ed_24e_5Ff');
    expect(encodeToken('Aa-9')).toBe('Aa-9');
    expect(encodeToken('')).toBe('_');
    expect(encodeToken('é')).toBe('_C3_A9');
    expect(decodeToken('_')).toBe('');
    expect(decodeToken('a_2Eb')).toBe('a.b');
  });

  it('refuses tokens no piece encodes to', () => {
    for (const bad of ['a.b', '_2', '_2e', '_ZZ', 'a b', '_C3', '*']) {
      expect({ bad, decoded: decodeToken(bad) }).toEqual({ bad, decoded: null });
    }
  });

  it('refuses subjects outside the prefix or the layout', () => {
    for (const bad of [
      'other.chan.g.news',
      'dotmac-ws',
      'dotmac-ws.chan.news',
      'dotmac-ws.chan.g.a.b',
      'dotmac-ws.chan.t.acme',
      'dotmac-ws.all.x',
      'dotmac-ws.user',
      'dotmac-ws.nope.x',
    ]) {
      expect({ bad, topic: subjectToTopic(P, bad) }).toEqual({ bad, topic: null });
    }
  });
});
