import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { DeviceNotFound, type DeviceCommand, type IssuedCertificate, type KnownDeviceState } from '@devid/domain';
// One derivation for POST /devices and offline factory batches: the same model + serial is the same device.
import { deviceIdFor } from '@devid/factory';
import { DeviceRegistry } from '@devid/projections';
import { AdminGuard } from '../http/admin.guard';
import { commandIdOf, correlationIdOf, expectedRevisionOf, fingerprintOf, type ActorRequest } from './command-context';
import { DeviceRepository } from './device-repository';
import * as schemas from './device-schemas';
import { toView, type DeviceView } from './device-view';
import { ExecuteDeviceCommand, type CommandOutcome } from './execute-device-command';
import { CertificateIssuer } from '../pki/certificate-issuer';
import { pem } from '../http/pem';
import { PointInTime } from '../audit/point-in-time';

export interface CertificateView {
  serialNumber: string;
  caId: string;
  profile: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  pem: string;
}

const certificateView = (c: IssuedCertificate): CertificateView => ({
  serialNumber: c.serialNumber,
  caId: c.caId,
  profile: c.profile,
  subject: c.subject,
  notBefore: c.notBefore,
  notAfter: c.notAfter,
  fingerprintSha256: c.fingerprintSha256,
  pem: pem('CERTIFICATE', c.der),
});

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;

type Payload<T extends DeviceCommand['type']> = Extract<DeviceCommand, { type: T }>['data'];

@ApiTags('devices')
@Controller('devices')
export class DevicesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly devices: DeviceRepository,
    @Inject(DeviceRegistry) private readonly registry: DeviceRegistry,
    private readonly issuer: CertificateIssuer,
    private readonly pointInTime: PointInTime,
  ) {}

  private async run<T extends DeviceCommand['type']>(
    req: ActorRequest,
    res: Response,
    type: T,
    deviceId: string,
    data: Payload<T>,
    csr?: { csr?: string; template?: string },
  ): Promise<DeviceView & { certificate?: CertificateView }> {
    const command = {
      type,
      deviceId,
      data,
      commandId: commandIdOf(req),
      now: new Date().toISOString(),
      actor: req.actor ?? 'anonymous',
    } as DeviceCommand;
    const outcome: CommandOutcome = await this.commands.execute(
      new ExecuteDeviceCommand(command, {
        expectedRevision: expectedRevisionOf(req),
        fingerprint: fingerprintOf(req),
        correlationId: correlationIdOf(req),
        ...(csr?.csr !== undefined ? { prepare: this.issuer.withCertificate(csr.csr, { template: csr.template }) } : {}),
      }),
    );
    res.setHeader('ETag', `"${outcome.device.revision}"`);
    if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
    const issued = outcome.events.find((e) => e.type === 'CertificateIssued');
    return issued ? { ...outcome.device, certificate: certificateView(issued.data as IssuedCertificate) } : outcome.device;
  }

  @Post()
  @HttpCode(201)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Register a manufactured device (status manufactured)' })
  @ApiBody({ schema: jsonSchema(schemas.manufactureBody) })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async manufacture(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Body() body: unknown) {
    const { csr, template, deviceId: given, ...data } = schemas.manufactureBody.parse(body);
    const deviceId = given ?? deviceIdFor(data.model, data.serialNumber);
    const view = await this.run(req, res, 'ManufactureDevice', deviceId, data, { csr, template });
    res.setHeader('Location', `/devices/${view.deviceId}`);
    return view;
  }

  @Post(':id/ship')
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiBody({ schema: jsonSchema(schemas.shipBody) })
  @ApiHeader({ name: 'If-Match', required: false })
  ship(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Param('id') id: string, @Body() body: unknown) {
    return this.run(req, res, 'ShipDevice', schemas.deviceIdSchema.parse(id), schemas.shipBody.parse(body));
  }

  @Post(':id/enroll')
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiBody({ schema: jsonSchema(schemas.enrollBody) })
  enroll(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Param('id') id: string, @Body() body: unknown) {
    const { csr, template } = schemas.enrollBody.parse(body);
    return this.run(req, res, 'EnrollDevice', schemas.deviceIdSchema.parse(id), {}, { csr, template });
  }

  @Post(':id/reenroll')
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'A new LDevID for an enrolled device; the current one is superseded (or revoked with revokePrevious)' })
  @ApiBody({ schema: jsonSchema(schemas.reenrollBody) })
  reenroll(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Param('id') id: string, @Body() body: unknown) {
    const { csr, template, revokePrevious } = schemas.reenrollBody.parse(body);
    // The certificate is filled in by the issuer once the command is known to be legal.
    const data = { revokePrevious: revokePrevious ?? false } as Payload<'ReenrollDevice'>;
    return this.run(req, res, 'ReenrollDevice', schemas.deviceIdSchema.parse(id), data, { csr, template });
  }

  @Post(':id/transfer')
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiBody({ schema: jsonSchema(schemas.transferBody) })
  transfer(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Param('id') id: string, @Body() body: unknown) {
    return this.run(req, res, 'TransferDevice', schemas.deviceIdSchema.parse(id), schemas.transferBody.parse(body));
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiBody({ schema: jsonSchema(schemas.revokeBody) })
  revoke(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Param('id') id: string, @Body() body: unknown) {
    const data = schemas.revokeBody.parse(body) as Payload<'RevokeDevice'>;
    return this.run(req, res, 'RevokeDevice', schemas.deviceIdSchema.parse(id), data);
  }

  @Post(':id/reinstate')
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiBody({ schema: jsonSchema(schemas.reinstateBody) })
  reinstate(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Param('id') id: string, @Body() body: unknown) {
    const { csr, template, ...data } = schemas.reinstateBody.parse(body);
    return this.run(req, res, 'ReinstateDevice', schemas.deviceIdSchema.parse(id), data, { csr, template });
  }

  @Post(':id/decommission')
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiBody({ schema: jsonSchema(schemas.decommissionBody) })
  decommission(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Param('id') id: string, @Body() body: unknown) {
    return this.run(req, res, 'DecommissionDevice', schemas.deviceIdSchema.parse(id), schemas.decommissionBody.parse(body));
  }

  @Get()
  @ApiOperation({ summary: 'List devices (device registry read model), paged by cursor' })
  @ApiQuery({ name: 'status', required: false, enum: ['manufactured', 'shipped', 'enrolled', 'revoked', 'decommissioned'] })
  @ApiQuery({ name: 'owner', required: false })
  @ApiQuery({ name: 'model', required: false })
  @ApiQuery({ name: 'factoryId', required: false })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  list(@Query() query: unknown) {
    const q = schemas.listQuery.parse(query);
    return this.registry.list(q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A device, folded from its event stream; with asOf, as the ledger knew it then (by recorded time)' })
  @ApiQuery({ name: 'asOf', required: false, description: 'RFC 3339 date-time with a time zone' })
  async get(@Res({ passthrough: true }) res: Response, @Param('id') id: string, @Query('asOf') asOf?: unknown): Promise<DeviceView> {
    const deviceId = schemas.deviceIdSchema.parse(id);
    if (asOf !== undefined) return this.pointInTime.device(deviceId, typeof asOf === 'string' ? asOf : String(asOf));
    const loaded = await this.devices.load(deviceId);
    if (loaded.state.status === 'unknown') throw new DeviceNotFound(deviceId);
    res.setHeader('ETag', `"${loaded.revision}"`);
    return toView(loaded.state as KnownDeviceState, loaded.revision, loaded.position);
  }

  @Get(':id/events')
  @ApiOperation({ summary: "The device's events in stream order, as stored" })
  async events(@Param('id') id: string) {
    const deviceId = schemas.deviceIdSchema.parse(id);
    const loaded = await this.devices.load(deviceId);
    if (loaded.events.length === 0) throw new DeviceNotFound(deviceId);
    return {
      deviceId,
      events: loaded.events.map((e) => ({
        id: e.id,
        type: e.type,
        version: e.version,
        revision: e.revision,
        position: e.position,
        occurredAt: e.occurredAt,
        recordedAt: e.recordedAt,
        data: e.data,
        metadata: { commandId: e.metadata.commandId, correlationId: e.metadata.correlationId, actor: e.metadata.actor },
      })),
    };
  }
}
