/**
 * Public API of the uplink (consent-gated MQTT 5 upload of recordings, retained status, fleet config intake).
 *
 *   const uplink = createUplink({ config, outbox, ...app.uplinkPorts(),   // recordings (open, markUploaded), gate
 *                                 audit, settings, statusFields, onConfigMessage })
 *   uplink?.start()                 // connects in the background, drains the outbox
 *   uplink?.notify()                // after a capture is stored and enqueued, or consent/local-only changed:
 *                                   // the outbox is event-driven (no polling), this is how it learns of new work
 *   uplink?.purgeOwner(ownerId)     // after a cloud-processing withdrawal is recorded
 *   uplink?.publishStatus()         // after local-only changes or a fleet document is applied/refused
 *   await uplink?.stop()            // on SIGINT/SIGTERM; at most STOP_BUDGET_MS (5 s) whatever the broker does
 *   describeDrain(await readDrainProgress(settings, outbox))   // `earshot status`, from another process
 */
export { Uplink, STOP_BUDGET_MS, createUplink, type UplinkDeps } from './uplink.js';
export { configTopicsFor } from '../core/index.js';
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
} from '../core/index.js';
export type { LinkState, PublishHandle, PublishResult, RecordingTransport } from './transport.js';
export { MemoryAudit, MemoryOutbox, MemoryRecordings, ScriptedGate } from './testing/memory-ports.js';
export { startTestBroker } from './testing/mosquitto-broker.js';
