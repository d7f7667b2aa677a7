import { Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { BATCH_MEDIA_TYPE } from '@devid/factory';
import { AdminGuard } from '../../http/admin.guard';
import { HttpProblem } from '../../http/problem';
import { ImportFactoryBatch, type BatchImportResult } from './import-factory-batch';

/** 10,000 devices make about 15 MB; a day of a busy line fits. */
export const MAX_BATCH_BYTES = 128 * 1024 * 1024;
const ACCEPTED_TYPES = [BATCH_MEDIA_TYPE, 'application/octet-stream', 'application/jsonl', 'application/x-ndjson'];

@ApiTags('factory')
@Controller('factory/batches')
export class FactoryBatchesController {
  constructor(private readonly importer: ImportFactoryBatch) {}

  @Post()
  @HttpCode(200)
  @UseGuards(AdminGuard)
  @ApiBearerAuth()
  @ApiConsumes(BATCH_MEDIA_TYPE)
  @ApiOperation({
    summary: 'Import a signed offline factory batch (devid factory issue)',
    description:
      'The whole batch is refused (problem+json, nothing written) if its signature, chain or factory CA does not hold. ' +
      'Otherwise every device is registered (DeviceManufactured + CertificateIssued) and bad records are listed in `rejected`. ' +
      'Importing the same batch again adds nothing (`alreadyPresent`).',
  })
  importBatch(@Req() req: Request & { actor?: string }): Promise<BatchImportResult> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!ACCEPTED_TYPES.includes(type)) {
      req.resume();
      throw new HttpProblem(415, 'unsupported-media-type', `a factory batch is ${BATCH_MEDIA_TYPE}, got ${type || 'no Content-Type'}`);
    }
    if (Number(req.headers['content-length'] ?? 0) > MAX_BATCH_BYTES) {
      req.resume();
      throw new HttpProblem(413, 'batch-too-large', `the batch is over ${MAX_BATCH_BYTES} bytes`);
    }
    return this.importer.import(req, { actor: req.actor ?? 'admin', maxBytes: MAX_BATCH_BYTES });
  }
}
