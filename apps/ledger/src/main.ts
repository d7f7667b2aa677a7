import { ConfigError, loadConfig } from './config/config';
import { startLedger } from './ledger';

const main = async () => {
  const config = loadConfig();
  const { url, generatedAdminKey, demoCas, estUrl } = await startLedger(config);
  const lines = [
    '',
    `DevID Ledger is up: ${url}`,
    `  API docs     ${url}/docs   (OpenAPI: ${url}/openapi.json)`,
    `  health       ${url}/health   metrics: ${url}/metrics`,
    config.EVENT_STORE === 'sqlite'
      ? `  data         ${config.DATA_DIR} (SQLite, WAL, synchronous=FULL)`
      : `  data         ${config.DATA_DIR} (read models); events in EventStoreDB`,
  ];
  if (demoCas) {
    lines.push('  demo CAs     created on this first start (software keys in DATA_DIR/ca-keys):');
    for (const line of demoCas) lines.push(`               ${line}`);
  }
  lines.push(`  CRL / OCSP   ${url}/crl/<caId>.crl   ${url}/ocsp   (CAs: ${url}/cas)`);
  if (estUrl) lines.push(`  EST          ${estUrl}   (RFC 7030; client certificate: IDevID or LDevID)`);
  if (generatedAdminKey) {
    lines.push(`  admin key    ${generatedAdminKey}`);
    lines.push('               (printed once; only its hash is stored. Use: Authorization: Bearer <key>)');
  } else if (!config.ADMIN_API_KEY) {
    lines.push('  admin key    generated on the first start (see its output), or set ADMIN_API_KEY');
  }
  console.log(lines.join('\n') + '\n');
};

main().catch((e: unknown) => {
  console.error(e instanceof ConfigError ? e.message : `ledger failed to start: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
