import type { Checkpoint } from '../src/run-document';

export const TUTORIAL_CHECKPOINTS: Record<string, Checkpoint> = {};
