/**
 * Test broker harness: a real Mosquitto on a free port with a test CA made at test time.
 * The implementation lives in src/uplink/testing so the uplink benchmark (run from dist/) can use it too.
 * Missing mosquitto/openssl makes startTestBroker throw: tests fail, they never skip.
 */
export { startTestBroker, freePort, shippedAclPath, type TestBroker, type ClientCert, type StartBrokerOptions } from '../../src/uplink/testing/mosquitto-broker.js';
