import { Module } from '@nestjs/common';
import { DeviceRepository } from '../devices/device-repository';
import { PkiModule } from '../pki/pki.module';
import { EstEnrollment } from './est-enrollment';
import { EstServer } from './est-server';

/**
 * EST (RFC 7030) on its own HTTPS port (EST_PORT). Needs (globally) the CommandBus with the
 * device command handler and StoreModule's read models; started by startLedger once the CAs exist.
 */
@Module({
  imports: [PkiModule],
  providers: [DeviceRepository, EstEnrollment, EstServer],
  exports: [EstServer],
})
export class EstModule {}
