import { Module } from '@nestjs/common';
import { PkiModule } from '../pki/pki.module';
import { AuditController } from './audit.controller';
import { AuditLog } from './audit-log.service';
import { PointInTime } from './point-in-time';

/** Hash chain and signed checkpoints over the log, the audit key, and point-in-time answers. */
@Module({
  imports: [PkiModule],
  controllers: [AuditController],
  providers: [AuditLog, PointInTime],
  exports: [AuditLog, PointInTime],
})
export class AuditModule {}
