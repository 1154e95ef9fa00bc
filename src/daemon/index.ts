/**
 * Public API of the daemon: `runDaemon` (the composition root), its events, and `askDaemon` for the CLI to read
 * the live daemon's status through the data directory's lock socket.
 */
export { runDaemon, type DaemonOptions, type DaemonResult } from './run-daemon.js';
export type { DaemonEvent } from './events.js';
export { askDaemon, InstanceLock, LOCK_ID_FILE, type DaemonAnswer } from './instance-lock.js';
export type { DaemonData } from './daemon-data.js';
export { ServiceHost, type Service, type ServiceStatus, type ServiceState } from './service.js';
export { WakeService, REPLAY_MAX_BACKLOG_SAMPLES, type OwnedWake, type BuiltDetector } from './wake-service.js';
export { NearMissWatch, type NearMiss } from './near-miss-watch.js';
