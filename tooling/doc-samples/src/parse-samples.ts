/**
 * A fenced block of a Markdown document tagged `runnable` (```` ```sh runnable background ````),
 * or a checkpoint marker (`<!-- runnable-check: NAME -->`), with where it is.
 */
export interface DocSample {
  /** The document, relative to the repository root (`docs/getting-started.md`). */
  readonly file: string;
  /** 1-based line of the opening fence (or of the marker). */
  readonly line: number;
  /** The fence's language (`sh`, `js`, `ts`, `json`, …); `check` for a checkpoint marker. */
  readonly lang: string;
  /** The attributes after `runnable`: `key=value`, `key="a value"`, or a bare `key` (true). */
  readonly attrs: ReadonlyMap<string, string | true>;
  /** The block's text (the fence's indentation removed), ending with a newline; a checkpoint's name. */
  readonly code: string;
}

/** `file:line`, the location every failure names. */
export function where(sample: Pick<DocSample, 'file' | 'line'>): string {
  return `${sample.file}:${sample.line}`;
}

const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const CHECK = /^\s*<!--\s*runnable-check:\s*([\w-]+)\s*-->\s*$/;
const ATTR = /([\w-]+)(?:=(?:"([^"]*)"|(\S+)))?/g;

/** The attributes of an info string after its language, or null when it is not tagged `runnable`. */
export function parseInfo(info: string): { lang: string; attrs: Map<string, string | true> } | null {
  const trimmed = info.trim();
  const space = trimmed.search(/\s/);
  const lang = space < 0 ? trimmed : trimmed.slice(0, space);
  const rest = space < 0 ? '' : trimmed.slice(space + 1);
  const attrs = new Map<string, string | true>();
  let tagged = false;
  for (const m of rest.matchAll(ATTR)) {
    const key = m[1]!;
    const value = m[2] ?? m[3];
    if (key === 'runnable' && value === undefined) tagged = true;
    else attrs.set(key, value ?? true);
  }
  return tagged ? { lang, attrs } : null;
}

/**
 * The runnable samples and checkpoints of a Markdown document, in document order. Fences inside
 * HTML comments count too: that is how a document hides setup a reader does not need to see.
 * An unclosed runnable fence is an error naming its line.
 */
export function parseSamples(file: string, text: string): DocSample[] {
  const lines = text.split('\n');
  const samples: DocSample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const check = CHECK.exec(line);
    if (check) {
      samples.push({ file, line: i + 1, lang: 'check', attrs: new Map(), code: check[1]! });
      continue;
    }
    const open = FENCE.exec(line);
    if (!open) continue;
    const [, indent = '', marker = '', info = ''] = open;
    // A backtick fence's info string may not contain a backtick (CommonMark): inline code.
    if (marker.startsWith('`') && info.includes('`')) continue;
    const close = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !close.test(lines[end]!)) end++;
    const parsed = parseInfo(info);
    if (parsed !== null) {
      if (end >= lines.length) throw new Error(`${file}:${i + 1}: the runnable fence is never closed`);
      const body = lines
        .slice(i + 1, end)
        .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()));
      samples.push({
        file,
        line: i + 1,
        lang: parsed.lang,
        attrs: parsed.attrs,
        code: `${body.join('\n')}\n`,
      });
    }
    i = end;
  }
  return samples;
}
