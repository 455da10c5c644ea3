import { readFileSync } from 'node:fs';
import { parseChannelRules } from '@dotmac-ws/auth-jwt';
import { ConfigError } from '@dotmac-ws/core';

/**
 * Reads `CHANNEL_RULES_FILE` (the channel policy's rules, their channel options and their
 * application-backend routes); pushes every problem in environment terms and returns undefined
 * when it cannot be used.
 */
export function readRules(
  file: string,
  problems: string[],
): ReturnType<typeof parseChannelRules> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(
      `CHANNEL_RULES_FILE is set as '${file}' but it cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    problems.push(`CHANNEL_RULES_FILE '${file}' is not JSON: ${(error as Error).message}`);
    return undefined;
  }
  try {
    return parseChannelRules(json);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems.map((p) => `CHANNEL_RULES_FILE '${file}': ${p}`));
    return undefined;
  }
}
