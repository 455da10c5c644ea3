export { type StartProcessOptions, startProcess, type TestProcess } from './child-process';
export { onCleanup } from './cleanup';
export {
  freePort,
  IN_CI,
  isReachable,
  SHARED_NATS,
  SHARED_REDIS,
  type SharedService,
  sharedServiceMissing,
} from './services';
export { HandshakeRefused, type RecordedFrame, TestClient, type TestClientOptions } from './test-client';
export { sleep, waitUntil } from './wait';
