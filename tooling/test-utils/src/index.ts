export { onCleanup } from './cleanup';
export { freePort, IN_CI, isReachable } from './services';
export { HandshakeRefused, type RecordedFrame, TestClient, type TestClientOptions } from './test-client';
export { sleep, waitUntil } from './wait';
