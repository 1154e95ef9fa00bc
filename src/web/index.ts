/**
 * Public API of the owner's page.
 *
 *   const backend = new AppOwnerBackend(app)                                // the one adapter: EarshotApp (src/app)
 *   const page = await startOwnerPage({ backend, clock, host, port, tls })  // serves until page.close()
 *   const { link } = await createPairingLink(backend, { baseUrl: page.url, clock, source: 'owner-cli' })
 */
export { startOwnerPage, type OwnerPage, type OwnerPageOptions } from './server.js';
export { AppOwnerBackend } from './app-owner-backend.js';
export { OWNER_PAGE_SOURCE, type OwnerBackend, type SessionView, type Notice } from './owner-backend.js';
export { createPairingLink, terminalQr, type PairingLink } from './pairing-link.js';
export { deviceCertPaths, loadTls, makeDeviceCert, pageTls, type TlsMaterial } from './tls-cert.js';
export { isLoopback } from './request-guard.js';
export { PAIRING_TTL_MS, SESSION_IDLE_MS } from './secrets.js';
export { DEFAULT_THROTTLE, type ThrottleOptions } from './pairing-throttle.js';
