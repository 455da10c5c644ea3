import type { EnvConfig } from './env-config';

/** The variable that sets each option, e.g. `{ trustProxy: 'TRUST_PROXY' }`. */
export type OptionEnvMap = Readonly<Record<string, string>>;

const WORD = /[A-Za-z_$][\w$]*(?:\[\d+\](?:\.[A-Za-z_$][\w$]*)?)?/y;

/**
 * An option problem (`ConfigError.problems`, worded by core's option checks: the option first,
 * e.g. "trustProxy has 'x' when each entry must be …") in the variables that set the options:
 * "TRUST_PROXY is set as 'x' when it must be …". The subject is restated with the text the
 * variable was set as; other option names the map knows are named by their variables
 * (`servers[2]` as `NATS_URL entry 3`, `apiKeys[1].key` as `the key of API_KEYS entry 2`);
 * quoted text (values) is left alone.
 */
export function problemInEnvTerms(problem: string, map: OptionEnvMap, env: EnvConfig): string {
  const subject = /^([A-Za-z_$][\w$]*)(?:\[(\d+)\])? /.exec(problem);
  const key = subject?.[1];
  const name = key !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
  if (subject !== null && name !== undefined && subject[2] === undefined) {
    const rest = problem.slice(subject[0].length);
    const raw = env.raw(name);
    // "x is 'v' when it must be …" / "x has 'v' when each entry must be …": say what was set.
    const is = /^is (?:'[^']*'|-?\d[\w.]*) when (.*)$/s.exec(rest);
    const has = /^has ('[^']*') when each entry must be (.*)$/s.exec(rest);
    if (raw !== undefined && is !== null) {
      return `${name} is set as '${raw}' when ${namesIn(is[1] as string, map)}`;
    }
    if (raw !== undefined && has !== null) {
      const expected = namesIn(has[2] as string, map);
      return has[1] === `'${raw}'`
        ? `${name} is set as '${raw}' when it must be ${expected}`
        : `${name} is set as '${raw}', whose entry ${has[1]} is not valid: each entry must be ${expected}`;
    }
  }
  return namesIn(problem, map);
}

/** `text` with each option name of `map` outside quotes replaced by its variable. */
function namesIn(text: string, map: OptionEnvMap): string {
  let out = '';
  let quote: string | null = null;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (quote !== null) {
      if (c === quote) quote = null;
      out += c;
      i++;
      continue;
    }
    // An apostrophe ("node's") opens no quote.
    if (c === '"' || (c === "'" && !/\w/.test(i === 0 ? ' ' : (text[i - 1] as string)))) {
      quote = c;
      out += c;
      i++;
      continue;
    }
    const before = i === 0 ? ' ' : (text[i - 1] as string);
    WORD.lastIndex = i;
    const m = /[\w$.]/.test(before) ? null : WORD.exec(text);
    if (m === null) {
      out += c;
      i++;
      continue;
    }
    out += optionInEnvTerms(m[0], map);
    i += m[0].length;
  }
  return out;
}

function optionInEnvTerms(word: string, map: OptionEnvMap): string {
  const m = /^([^[]+)(?:\[(\d+)\](?:\.(.+))?)?$/.exec(word);
  const key = m?.[1] ?? word;
  const name = Object.hasOwn(map, key) ? map[key] : undefined;
  if (name === undefined || m === null) return word;
  if (m[2] === undefined) return name;
  const entry = `${name} entry ${Number(m[2]) + 1}`;
  return m[3] === undefined ? entry : `the ${m[3]} of ${entry}`;
}
