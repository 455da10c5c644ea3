import type { EnvelopeHeader } from './broadcast-envelope';

/** `"data":` — what follows the splice point of a channel frame. */
const DATA_KEY = '"data":';

/**
 * The frame of a publication in a channel with history, before its offset is known:
 * `{"type":T,"channel":C,"data":D}` with the splice point after `"channel":C,`, where
 * `"offset":N,` goes once the store has numbered it. @internal
 */
export function channelFrame(type: string, name: string, data: unknown): { frame: Buffer; splice: number } {
  const head = `{"type":${JSON.stringify(type)},"channel":${JSON.stringify(name)},`;
  const frame = Buffer.from(`${head}${DATA_KEY}${JSON.stringify(data ?? null)}}`);
  return { frame, splice: Buffer.byteLength(head) };
}

/** The delivered frame: `"offset":N,` spliced in at the header's `fh`. @internal */
export function frameWithOffset(frame: Buffer, splice: number, offset: number): Buffer {
  const mid = Buffer.from(`"offset":${offset},`);
  return Buffer.concat([frame.subarray(0, splice), mid, frame.subarray(splice)], frame.length + mid.length);
}

/**
 * A stored body (an envelope) as the JSON text of one `publications` entry of an ack:
 * `{"type":T,"data":D,"offset":N}`, cut out of the frame without parsing the data. @internal
 */
export function publicationJson(header: EnvelopeHeader, frame: Buffer, offset: number): string {
  const splice = header.fh ?? -1;
  const data =
    splice >= 0 && frame.toString('latin1', splice, splice + DATA_KEY.length) === DATA_KEY
      ? frame.toString('utf8', splice + DATA_KEY.length, frame.length - 1)
      : JSON.stringify((JSON.parse(frame.toString('utf8')) as { data?: unknown }).data ?? null);
  return `{"type":${JSON.stringify(header.type)},"data":${data},"offset":${offset}}`;
}
