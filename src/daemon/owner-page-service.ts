/**
 * The owners' page as a daemon service (`web.enabled`): served with the backend app-daemon-data.ts builds on the
 * daemon's own application layer, so a page action and a CLI command run the same operations. Required: a start-up error (port in use, certificate
 * unreadable, LAN address without TLS) stops the daemon's start with its typed error.
 */
import type { DeviceConfig } from '../config/index.js';
import type { Clock } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { pageTls, startOwnerPage, type OwnerBackend, type OwnerPage } from '../web/index.js';
import type { Service } from './service.js';

export class OwnerPageService implements Service {
  readonly name = 'owner-page';
  private page: OwnerPage | undefined;

  constructor(private readonly deps: { backend: OwnerBackend; config: DeviceConfig; clock: Clock; logger: Logger }) {}

  async start(): Promise<void> {
    const { web, dataDir } = this.deps.config;
    const tls = await pageTls({ host: web.host, certFile: web.certFile, keyFile: web.keyFile, dataDir });
    this.page = await startOwnerPage({
      backend: this.deps.backend,
      clock: this.deps.clock,
      host: web.host,
      port: web.port,
      ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
      logger: this.deps.logger,
    });
    this.deps.logger.info("serving the owners' page", { url: this.page.url, ...(tls ? { fingerprint256: tls.fingerprint256 } : {}) });
  }

  async stop(): Promise<void> {
    await this.page?.close();
    this.page = undefined;
  }
}
