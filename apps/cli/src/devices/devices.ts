import type { Command } from 'commander';
import { CliError } from '../cli-error';

const get = async (url: string) => {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (e) {
    throw new CliError(`cannot reach the ledger at ${url}: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { detail?: string };
  if (!res.ok) throw new CliError(`${res.status}: ${body.detail ?? res.statusText}`);
  return body;
};

export const registerDevices = (program: Command) => {
  const devices = program.command('devices').description('query devices through the ledger API');
  const url = (opts: { url: string }) => opts.url.replace(/\/$/, '');
  devices
    .command('show <deviceId>')
    .description('show one device and its events')
    .option('--url <url>', 'ledger base URL', process.env.LEDGER_URL ?? 'http://127.0.0.1:3000')
    .action(async (deviceId: string, opts: { url: string }) => {
      const base = url(opts);
      const id = encodeURIComponent(deviceId);
      console.log(JSON.stringify({ device: await get(`${base}/devices/${id}`), ...(await get(`${base}/devices/${id}/events`)) }, null, 2));
    });
  devices
    .command('list')
    .description('list devices (filters as in GET /devices)')
    .option('--url <url>', 'ledger base URL', process.env.LEDGER_URL ?? 'http://127.0.0.1:3000')
    .option('--status <status>')
    .option('--owner <owner>')
    .option('--limit <n>', 'page size', '50')
    .action(async (opts: { url: string; status?: string; owner?: string; limit: string }) => {
      const q = new URLSearchParams({ limit: opts.limit });
      if (opts.status) q.set('status', opts.status);
      if (opts.owner) q.set('owner', opts.owner);
      console.log(JSON.stringify(await get(`${url(opts)}/devices?${q}`), null, 2));
    });
};
