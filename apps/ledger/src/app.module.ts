import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { LEDGER_CONFIG, type LedgerConfig } from './config/config';
import { OpenedResources } from './store/opened-resources';
import { DeviceRepository } from './devices/device-repository';
import { DevicesController } from './devices/devices.controller';
import { CertificatesController } from './certificates/certificates.controller';
import { PkiModule } from './pki/pki.module';
import { ExecuteDeviceCommandHandler } from './devices/execute-device-command';
import { HealthController } from './health/health.controller';
import { AdminKey } from './http/admin-key';
import { AdminGuard } from './http/admin.guard';
import { JsonBodyMiddleware } from './http/json-body.middleware';
import { ProblemFilter } from './http/problem.filter';
import { ProblemsController } from './http/problems.controller';
import { LedgerMetrics, MetricsMiddleware } from './metrics/metrics';
import { MetricsController } from './metrics/metrics.controller';
import { StoreModule } from './store/store.module';
import { DetectorsModule } from './detectors/detectors.module';
import { MessagingModule } from './messaging/messaging.module';
import { AuditModule } from './audit/audit.module';
import { FactoryModule } from './factory/factory.module';
import { EstModule } from './est/est.module';

@Module({})
export class AppModule implements NestModule {
  /** `opened` collects what providers open while the application is built (see OpenedResources). */
  static register(config: LedgerConfig, adminKey: AdminKey, opened = new OpenedResources()): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [CqrsModule.forRoot(), StoreModule, PkiModule, DetectorsModule, MessagingModule.register(), FactoryModule, EstModule, AuditModule],
      controllers: [DevicesController, CertificatesController, HealthController, MetricsController, ProblemsController],
      providers: [
        { provide: LEDGER_CONFIG, useValue: config },
        { provide: AdminKey, useValue: adminKey },
        { provide: OpenedResources, useValue: opened },
        { provide: APP_FILTER, useClass: ProblemFilter },
        AdminGuard,
        DeviceRepository,
        ExecuteDeviceCommandHandler,
        LedgerMetrics,
      ],
      exports: [LEDGER_CONFIG, AdminKey, AdminGuard, LedgerMetrics, OpenedResources],
    };
  }

  configure(consumer: MiddlewareConsumer) {
    consumer.apply(MetricsMiddleware).forRoutes('*');
    // A factory batch is JSON Lines of up to 128 MiB, read by its own route.
    consumer.apply(JsonBodyMiddleware).exclude({ path: 'factory/batches', method: RequestMethod.POST }).forRoutes('*');
  }
}
