import secureJson from 'secure-json-parse';

const REMOVE_PROTOTYPE_KEYS = { protoAction: 'remove', constructorAction: 'remove' } as const;

/**
 * Parses JSON without letting `__proto__` or `constructor.prototype` keys reach application
 * code, however the text spells them (`"__proto\u005f_"` included). JSON.parse itself never
 * pollutes a prototype, but an object with an own `__proto__` key does as soon as someone
 * `Object.assign`s or spreads it, so such keys are removed (by `secure-json-parse`, which
 * looks at the parsed objects only when the text may name one of them). Throws a
 * `SyntaxError` on invalid JSON.
 */
export function safeJsonParse(text: string): unknown {
  // A key can only be `__proto__` or `constructor` if the text spells it out or escapes some
  // of its letters (`\u…`); text with neither cannot, and skips the checks.
  if (!text.includes('__proto__') && !text.includes('constructor') && !text.includes('\\u')) {
    return JSON.parse(text);
  }
  return secureJson.parse(text, undefined, REMOVE_PROTOTYPE_KEYS);
}
