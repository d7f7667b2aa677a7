import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { CasAdminController } from '../cas/cas-admin.controller';
import { CasReadController } from '../cas/cas.controller';
import { CrlController } from '../crl/crl.controller';
import { CrlService } from '../crl/crl.service';
import { OcspController } from '../ocsp/ocsp.controller';
import { OcspSignerRenewal } from '../ocsp/ocsp-signer-renewal';
import { OcspService } from '../ocsp/ocsp.service';
import { Authorities } from './authorities';
import { CertificateIssuer } from './certificate-issuer';
import { PkiHealth } from './pki-health';
import { ExecuteCaCommandHandler } from './execute-ca-command';
import { KeyStore } from './key-store';
import { KeyWatch } from './key-watch';
import { PublicUrl } from './public-url';

/** The certificate authority: CA keys and streams, issuance, CRLs and OCSP. */
@Module({
  controllers: [CasReadController, CasAdminController, CrlController, OcspController],
  providers: [
    { provide: KeyStore, inject: [LEDGER_CONFIG], useFactory: (config: LedgerConfig) => new KeyStore(config) },
    { provide: PublicUrl, inject: [LEDGER_CONFIG], useFactory: (config: LedgerConfig) => new PublicUrl(config.PKI_BASE_URL) },
    Authorities,
    CertificateIssuer,
    PkiHealth,
    CrlService,
    OcspService,
    OcspSignerRenewal,
    KeyWatch,
    ExecuteCaCommandHandler,
  ],
  exports: [Authorities, CertificateIssuer, PkiHealth, PublicUrl, KeyStore, OcspSignerRenewal, KeyWatch],
})
export class PkiModule implements OnApplicationShutdown {
  constructor(private readonly keys: KeyStore) {}

  onApplicationShutdown() {
    this.keys.close();
  }
}
