import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { DetectorNotFound, type DetectorCommand, type KnownDetectorState } from '@devid/domain';
import { DetectorRegistry } from '@devid/messaging';
import { commandIdOf, correlationIdOf, fingerprintOf, type ActorRequest } from '../devices/command-context';
import { AdminGuard } from '../http/admin.guard';
import { checkPublicKey } from './check-public-key';
import { DetectorRepository } from './detector-repository';
import * as schemas from './detector-schemas';
import { toDetectorView, type DetectorView } from './detector-view';
import { ExecuteDetectorCommand, type DetectorCommandOutcome } from './execute-detector-command';

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;

type Payload<T extends DetectorCommand['type']> = Extract<DetectorCommand, { type: T }>['data'];

/** Anomaly detectors that may send signed revoke commands over Kafka (admin only to change). */
@ApiTags('detectors')
@Controller('detectors')
export class DetectorsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly detectors: DetectorRepository,
    @Inject(DetectorRegistry) private readonly registry: DetectorRegistry,
  ) {}

  private async run<T extends DetectorCommand['type']>(req: ActorRequest, res: Response, type: T, detectorId: string, data: Payload<T>): Promise<DetectorView> {
    const command = { type, detectorId, data, commandId: commandIdOf(req), now: new Date().toISOString(), actor: req.actor ?? 'anonymous' } as DetectorCommand;
    const outcome: DetectorCommandOutcome = await this.commands.execute(
      new ExecuteDetectorCommand(command, { fingerprint: fingerprintOf(req), correlationId: correlationIdOf(req) }),
    );
    res.setHeader('ETag', `"${outcome.detector.revision}"`);
    if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return outcome.detector;
  }

  @Post()
  @HttpCode(201)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Register an anomaly detector: public JWK (ES256 P-256 or EdDSA Ed25519), scope, enabled' })
  @ApiBody({ schema: jsonSchema(schemas.registerBody) })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async register(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Body() body: unknown) {
    const { detectorId, publicKey, ...rest } = schemas.registerBody.parse(body);
    const view = await this.run(req, res, 'RegisterDetector', detectorId, { ...rest, publicKey: checkPublicKey(publicKey) });
    res.setHeader('Location', `/detectors/${view.detectorId}`);
    return view;
  }

  @Post(':id/disable')
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiBody({ schema: jsonSchema(schemas.disableBody) })
  disable(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Param('id') id: string, @Body() body: unknown) {
    return this.run(req, res, 'DisableDetector', schemas.detectorIdSchema.parse(id), schemas.disableBody.parse(body));
  }

  @Post(':id/enable')
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiBody({ schema: jsonSchema(schemas.enableBody) })
  enable(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Param('id') id: string, @Body() body: unknown) {
    schemas.enableBody.parse(body);
    return this.run(req, res, 'EnableDetector', schemas.detectorIdSchema.parse(id), {});
  }

  @Post(':id/rotate-key')
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Replace the public key: commands signed with the previous key are refused from now on' })
  @ApiBody({ schema: jsonSchema(schemas.rotateKeyBody) })
  rotateKey(@Req() req: ActorRequest, @Res({ passthrough: true }) res: Response, @Param('id') id: string, @Body() body: unknown) {
    const { publicKey } = schemas.rotateKeyBody.parse(body);
    return this.run(req, res, 'RotateDetectorKey', schemas.detectorIdSchema.parse(id), { publicKey: checkPublicKey(publicKey) });
  }

  @Get()
  @ApiOperation({ summary: 'List registered detectors (detector registry read model)' })
  list() {
    return { detectors: this.registry.list() };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A detector, folded from its event stream' })
  async get(@Res({ passthrough: true }) res: Response, @Param('id') id: string): Promise<DetectorView> {
    const detectorId = schemas.detectorIdSchema.parse(id);
    const loaded = await this.detectors.load(detectorId);
    if (loaded.state.status === 'unknown') throw new DetectorNotFound(detectorId);
    res.setHeader('ETag', `"${loaded.revision}"`);
    return toDetectorView(loaded.state as KnownDetectorState, loaded.revision);
  }
}
