/**
 * Public API of the uplink (consent-gated MQTT 5 upload of recordings, retained status, fleet config intake).
 *
 *   const uplink = createUplink({ config, outbox: store.outbox, recordings: store.recordings, gate,
 *                                 audit: store.audit, settings: store.settings, statusFields, onConfigMessage })
 *   uplink?.start()                 // connects in the background, drains the outbox
 *   uplink?.notify()                // after each capture is stored and enqueued
 *   uplink?.purgeOwner(ownerId)     // from ConsentLedger's onRevoked (cloud-processing)
 *   uplink?.publishStatus()         // after local-only changes or a fleet document is applied/refused
 *   await uplink?.stop()            // on SIGINT/SIGTERM
 *   readDrainProgress(store.settings, store.outbox)   // `earshot status`, from another process
 */
export { Uplink, createUplink, configTopicsFor, type UplinkDeps } from './uplink.js';
export { MqttConnection, type MqttConnectionOptions, type MessageListener } from './mqtt-connection.js';
export { OutboxPublisher, type OutboxPublisherOptions } from './outbox-publisher.js';
export { DRAIN_PROGRESS_KEY, RateMeter, describeDrain, processAlive, readDrainProgress, type DrainProgress, type DrainStatus } from './drain-progress.js';
export { encodeStatus, type DeviceStatus, type DeviceStatusFields, type FleetConfigReport } from './device-status.js';
export { readRecordingMeta, recordingMessage, type ReceivedRecordingMeta, type RecordingMessage } from './recording-message.js';
export { RECORDING_CONTENT_TYPE, encodeWav } from './wav-payload.js';
export {
  FLEET_WIDE_GROUP,
  TOPIC_ROOT,
  assertTopicLevel,
  deviceConfigTopic,
  deviceTopicRoot,
  fleetConfigTopic,
  recordingIdFromTopic,
  recordingTopic,
  statusTopic,
} from '../core/topics.js';
export type { LinkState, PublishHandle, PublishResult, RecordingTransport } from './transport.js';
